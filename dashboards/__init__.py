"""The emolake dashboards: one Dash app over the lake's read-only views (see dashboards/README.md)."""
