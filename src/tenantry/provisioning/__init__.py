"""Provisioning by SCIM 2.0 (RFC 7643/7644; README "Provisioning by SCIM 2.0"): a tenant's
provisioning tokens (``tokens``), the resources and discovery documents on scim2-models
(``resources``), filters as SQL (``filters``), and Users and Groups mapped onto the directory's
own service functions (``users``, ``groups``), so every rule of the directory and of the one
access decision holds for an identity system as for a person.
"""
