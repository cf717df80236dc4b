"""Exercise 23, solved: 401 vs 403, and permissions derived from roles."""

from minimal_asgi import App, HTTPException, Request

USERS = {"ada": ["editor"], "grace": ["reader"], "linus": ["reader", "admin"], "ken": []}
ROLE_PERMISSIONS = {
    "reader": {"notes:read"},
    "editor": {"notes:read", "notes:write"},
    "admin": {"notes:read", "notes:write", "notes:delete"},
}


def permissions_of(user: str) -> set[str]:
    return set().union(*(ROLE_PERMISSIONS.get(role, set()) for role in USERS[user]))


def require(permission: str):
    async def guard(request: Request) -> str:
        user = request.headers.get("x-user", "")
        if user not in USERS:
            # 401: we do not know who this is. The header says how to tell us.
            raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})
        if permission not in permissions_of(user):
            raise HTTPException(403, f"{permission} is not granted to you")  # known, refused
        return user

    return guard


app = App()


@app.get("/notes", dependencies=[require("notes:read")])
async def list_notes() -> list:
    return [{"id": 1, "title": "milk"}]


@app.post("/notes", status_code=201, dependencies=[require("notes:write")])
async def create_note() -> dict:
    return {"id": 2}


@app.delete("/notes/{note_id:int}", dependencies=[require("notes:delete")])
async def delete_note(note_id: int) -> None:
    return None
