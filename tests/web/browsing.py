"""What the browser tests do again and again: sign in (with the code step), enrol MFA."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Page, expect

from tenantry.operations.demo import DEMO_PASSWORD

SUFFIX = "tenantry.test"


def sign_in(page: Page, base: str, who: str, code_from: str | None = None) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/sign-in")
    page.get_by_label("User name").fill(f"{who}.{SUFFIX}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if code_from:
        page.get_by_label("Verification code").fill(pyotp.TOTP(code_from).now())
        page.get_by_role("button", name="Verify").click()


def enrol_mfa(page: Page, base: str, who: str) -> str:
    """Turn on TOTP (with the password), then sign in again with a code: enrolling ends the
    password-only session instead of upgrading it."""
    page.goto(f"{base}/me")
    page.get_by_label("Current password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("status")).to_contain_text("Two-step verification is on")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(f"{who}.{SUFFIX}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The next time step: the code just used is spent.
    page.get_by_label("Verification code").fill(totp.at(time.time(), counter_offset=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).not_to_have_url(re.compile("/sign-in"))
    return secret


def confirm(page: Page) -> None:
    """Answer Yes in the confirmation dialog of a destructive action."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Yes").click()


def nav(page: Page, name: str) -> None:
    """Open an Admin center section from its navigation."""
    page.get_by_role("navigation", name="Admin center").get_by_role("link", name=name).click()
