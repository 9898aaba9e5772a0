"""Orders: purchase orders to suppliers and sales orders at terminals, their state machine and deliveries."""
