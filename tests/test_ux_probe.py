from tests.conftest import post_form

def test_probe(client):
    r = post_form(client, "/language", {"language": "en", "next": "/login"}, token_from="/login")
    print(r.status_code, r.headers.get("Set-Cookie"), r.headers.get("Location"))
    page = client.get("/login", headers={"Accept-Language": "nl"})
    print(page.get_data(as_text=True)[:600])
    page = client.get("/nope", headers={"Accept-Language": "nl"})
    print(page.status_code, page.get_data(as_text=True)[-1500:])
