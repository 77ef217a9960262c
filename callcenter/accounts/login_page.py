"""The login form, in Chinese (zh-CN) and English. Plain HTML: no script needed to log in."""

from __future__ import annotations

import html
import urllib.parse

from callcenter.kernel.web.pages import page

TEXT = {
    "zh-CN": {
        "title": "登录 · 呼叫中心",
        "heading": "登录",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "login-failed": "用户名或密码错误。",
        "account-disabled": "此账号已停用,请联系管理员。",
        "login-throttled": "登录失败次数过多,请在 {retry_after} 秒后重试。",
        "csrf-failed": "登录表单已过期,请刷新页面后重试。",
        "missing-fields": "请输入用户名和密码。",
        "logged-out": "您已退出登录。",
    },
    "en": {
        "title": "Log in · Call center",
        "heading": "Log in",
        "username": "Username",
        "password": "Password",
        "submit": "Log in",
        "login-failed": "Wrong username or password.",
        "account-disabled": "This account is disabled: ask an admin.",
        "login-throttled": "Too many failed logins: try again in {retry_after} seconds.",
        "csrf-failed": "The login form has expired: reload the page and try again.",
        "missing-fields": "Enter your username and password.",
        "logged-out": "You have logged out.",
    },
}


def message(lang: str, error_id: str, **values: object) -> str:
    text = TEXT[lang].get(error_id) or TEXT[lang]["login-failed"]
    return text.format(**values)


def render(
    lang: str,
    *,
    csrf_token: str,
    next_path: str,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> str:
    t = TEXT[lang]
    e = html.escape
    alert = f'<p class="cc-error" role="alert" id="login-error">{e(error)}</p>' if error else ""
    info = f'<p class="cc-muted" id="login-notice">{e(notice)}</p>' if notice else ""
    query = urllib.parse.urlencode({"next": next_path}) if next_path != "/" else ""
    other = "en" if lang == "zh-CN" else "zh-CN"
    other_label = "English" if other == "en" else "中文"
    switch = f"/login?{query}&lang={other}" if query else f"/login?lang={other}"
    body = f"""<main class="cc-card">
<p class="cc-langs"><a href="{e(switch)}" hreflang="{other}">{other_label}</a></p>
<h1>{e(t["heading"])}</h1>{alert}{info}
<form method="post" action="/login?lang={lang}" id="login-form">
<input type="hidden" name="csrf_token" value="{e(csrf_token)}">
<input type="hidden" name="next" value="{e(next_path)}">
<label class="cc-field"><span>{e(t["username"])}</span>
<input name="username" id="username" autocomplete="username" required autofocus
 value="{e(username)}"></label>
<label class="cc-field"><span>{e(t["password"])}</span>
<input name="password" id="password" type="password" autocomplete="current-password" required>
</label>
<button class="cc-button" type="submit">{e(t["submit"])}</button>
</form></main>"""
    return page(t["title"], body, lang=lang)
