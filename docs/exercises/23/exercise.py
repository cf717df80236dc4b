"""Exercise 23: 401 vs 403, and role-based permissions. See README.md."""

from minimal_asgi import App, HTTPException, Request

USERS = {"ada": ["editor"], "grace": ["reader"], "linus": ["reader", "admin"], "ken": []}
ROLE_PERMISSIONS = {
    "reader": {"notes:read"},
    "editor": {"notes:read", "notes:write"},
    "admin": {"notes:read", "notes:write", "notes:delete"},
}


def require(role: str):  # TODO: require(permission), with 401 and 403 told apart
    async def guard(request: Request) -> str:
        user = request.headers.get("x-user", "")
        if role not in USERS.get(user, []):
            raise HTTPException(403, "forbidden")
        return user

    return guard


app = App()


@app.get("/notes", dependencies=[require("reader")])
async def list_notes() -> list:
    return [{"id": 1, "title": "milk"}]


@app.post("/notes", status_code=201, dependencies=[require("editor")])
async def create_note() -> dict:
    return {"id": 2}


@app.delete("/notes/{note_id:int}", dependencies=[require("admin")])
async def delete_note(note_id: int) -> None:
    return None
