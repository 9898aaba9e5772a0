"""Serves the mobile workbench (the phone web app built in ``clients/workbench``) at ``/app/``."""
