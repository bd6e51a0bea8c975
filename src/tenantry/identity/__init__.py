"""Who is asking. From the bottom up:

- ``passwords``: hashing (Argon2) and the password policy;
- ``tokens``: bearer tokens (issue, look up, revoke);
- ``throttle``: failed sign-ins counted per account and per client address;
- ``sign_in``: password, second factor, token; the signed-in user and its password change;
- ``factors``: enrolling a TOTP factor, and forgetting a user's factors.
"""
