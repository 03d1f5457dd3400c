# Build and install rsgi as a server is installed:
#   make                                        # cargo build --release (host, plugins)
#   make install PREFIX=/usr DESTDIR=/tmp/root  # bin/rsgi, lib/rsgi/plugins, man page, ...
#   make uninstall PREFIX=/usr DESTDIR=/tmp/root
# PYTHON: the interpreter(s) to build the python plugin for (python3 on PATH by default;
# several separated by spaces, the first becoming `--plugin python`). The work is done by
# packaging/install.sh, which lists the layout and the other settings (BINDIR, ...).
PREFIX ?= /usr/local
DESTDIR ?=
PYTHON ?= python3
export PREFIX DESTDIR PYTHON

.PHONY: all build install uninstall debs

all: build

build:
	packaging/install.sh build

install: build
	packaging/install.sh install

uninstall:
	packaging/install.sh uninstall

# Debian packages into build/debs/ (scripts/build-debs.sh OUTDIR for another directory).
debs:
	scripts/build-debs.sh build/debs
