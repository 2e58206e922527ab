"""Only the OpenActive routes, as server.py mounts them, on 127.0.0.1 (the validators' target)."""

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware

from web.headers import SecurityHeaders
from web.openactive import ROUTES
from web.public import ConditionalGet, RateLimit

app = Starlette(routes=ROUTES, middleware=[Middleware(SecurityHeaders), Middleware(RateLimit), Middleware(ConditionalGet)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
