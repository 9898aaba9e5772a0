"""Orders: purchase orders to suppliers and sales orders at terminals, their state machine and deliveries."""

from backend.orders.models import KINDS, STATES, Delivery, DeliveryLine, Order, OrderLine, QuotaUse

__all__ = ["KINDS", "STATES", "Delivery", "DeliveryLine", "Order", "OrderLine", "QuotaUse"]
