"""Who is asking: passwords, sign-in and its throttle, bearer tokens, second factors."""
