from tests.conftest import Org


def test_signup_sign_in_and_me(org: Org) -> None:
    me = org.admin.get("/me").json()
    assert me["user_principal_name"] == org.admin_upn
    assert me["tenant_id"] == org.tenant_id
    assert me["mfa_enabled"] is False
    assert me["is_partner_agent"] is False
