"""The SKU catalogue, subscriptions, trials and licences."""
