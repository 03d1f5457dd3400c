"""A Starlette app (no FastAPI) for rsgi's tests: routes, a lifespan with state, a form."""
import contextlib

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"visits": []}


async def home(request):
    request.state.visits.append(request.url.path)
    return PlainTextResponse("starlette home, visit %d" % len(request.state.visits))


async def form(request):
    data = await request.form()
    return JSONResponse({k: data[k] for k in data})


async def user(request):
    return JSONResponse({"user": request.path_params["name"], "q": request.query_params.get("q")})


app = Starlette(
    routes=[Route("/", home), Route("/form", form, methods=["POST"]), Route("/users/{name}", user)],
    lifespan=lifespan,
)
