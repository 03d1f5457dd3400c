"""A small Flask app: an HTML page, a JSON endpoint and a form POST."""
from flask import Flask, jsonify, render_template, request

app = Flask(__name__)

ITEMS = [{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"}, {"id": 3, "name": "plum"}]


@app.get("/")
def index():
    return render_template("index.html", items=ITEMS)


@app.get("/api/items")
def items():
    """The items as JSON; ?name=pl filters by a substring of the name."""
    wanted = request.args.get("name", "")
    found = [item for item in ITEMS if wanted in item["name"]]
    return jsonify(items=found, count=len(found))


@app.post("/api/echo")
def echo():
    """A JSON body back, with what the server told the app about it."""
    return jsonify(json=request.get_json(), content_length=request.content_length,
                   script_root=request.script_root, path=request.path)


@app.route("/greet", methods=["GET", "POST"])
def greet():
    name = request.form.get("name", "").strip() if request.method == "POST" else ""
    if request.method == "POST" and not name:
        return render_template("greet.html", error="a name is required"), 400
    return render_template("greet.html", name=name)
