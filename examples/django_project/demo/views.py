"""The demo app: one page, a form with CSRF, an upload, a streamed and a file response."""
import hashlib
from pathlib import Path

from django import forms
from django.http import FileResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

SAMPLE = Path(__file__).resolve().parent / "files" / "sample.txt"


class GreetForm(forms.Form):
    name = forms.CharField(max_length=100)


class UploadForm(forms.Form):
    file = forms.FileField()


def index(request):
    return render(request, "demo/index.html", {"greet": GreetForm(), "upload": UploadForm()})


def greet(request):
    """GET: the form (with its CSRF token). POST: greet, then redirect back."""
    if request.method == "POST":
        form = GreetForm(request.POST)
        if form.is_valid():
            url = reverse("demo:greet") + "?name=" + form.cleaned_data["name"]
            return HttpResponseRedirect(url)
    else:
        form = GreetForm()
    return render(request, "demo/greet.html", {"form": form, "name": request.GET.get("name")})


def upload(request):
    """POST a multipart file: its name, size and SHA-256 as JSON."""
    if request.method != "POST":
        return render(request, "demo/index.html", {"greet": GreetForm(), "upload": UploadForm()})
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    digest, size = hashlib.sha256(), 0
    for chunk in form.cleaned_data["file"].chunks():
        digest.update(chunk)
        size += len(chunk)
    return JsonResponse({"name": form.cleaned_data["file"].name, "size": size,
                         "sha256": digest.hexdigest()})


def stream(request):
    """A streamed response: the server sends each line as it is produced."""
    count = int(request.GET.get("lines", "100"))
    return StreamingHttpResponse((f"line {i}\n" for i in range(count)),
                                 content_type="text/plain")


def sample_file(request):
    """A file sent with FileResponse, which hands it to the server's wsgi.file_wrapper."""
    return FileResponse(open(SAMPLE, "rb"), content_type="text/plain")
