"""Sign-in with OpenID Connect (Pro Santé Connect): provider keys, token validation,
SASL XOAUTH2/OAUTHBEARER, the webmail's authorisation-code flow, and a dev provider."""
