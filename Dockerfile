# The one image of Gavel, ghcr.io/gavel-dev/gavel: the `gavel` CLI runs every workload
# (gateway, relay, fanout, audit-writer) and the operator (`gavel operator run`).
#
#   docker build -t ghcr.io/gavel-dev/gavel:0.1.0 .
#   scripts/image build        # here: podman, on a base made of Debian packages (docs/dev-stack.md)
#
# BASE is any image with CPython 3.11 as `python3` and its venv module: the official
# python:3.11-slim (/usr/local/bin/python3) by default, or Debian bookworm's python3 and
# python3-venv (/usr/bin/python3), which is what scripts/image builds from. The venv links to the
# base's interpreter, so every stage starts from the same BASE.
#
# The operator renders workload containers with `args` only (e.g. ["gateway", "--region", ...]),
# so the entrypoint is `gavel`. The Lua scripts need no extra step: the wheel built from
# pyproject.toml carries lua/ as the package data gavel/_lua, the first place lua_dir() looks
# after $GAVEL_LUA_DIR.
#
# Layers are ordered for the cache: the dependencies are installed from a list read out of
# pyproject.toml, so a change to the sources (or to pyproject's tool settings) reuses them and
# only Gavel's own wheel is rebuilt and installed, without the network. They are installed in
# the final stage itself rather than copied from another, so a cached build never re-reads them.
ARG BASE=python:3.11-slim

FROM ${BASE} AS requirements
COPY pyproject.toml /src/
# Only the lists reach the other stages, and COPY is cached by content: an unchanged list keeps
# the dependency layer even when other parts of pyproject.toml changed.
RUN mkdir /requirements && cd /src && python3 -c "import tomllib; \
p = tomllib.load(open('pyproject.toml', 'rb')); \
open('/requirements/runtime.txt', 'w').write('\n'.join(p['project']['dependencies']) + '\n'); \
open('/requirements/build.txt', 'w').write('\n'.join(p['build-system']['requires']) + '\n')"

# The optional ca-bundle secret is for builders behind a TLS-inspecting proxy (scripts/image
# passes the host's trust store); it is mounted for one step only and never lands in a layer.
FROM ${BASE} AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=requirements /requirements/build.txt /tmp/build.txt
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && python3 -m venv /opt/wheel-build \
 && /opt/wheel-build/bin/pip install -r /tmp/build.txt
WORKDIR /src
# Only the product's sources are copied: the local stack (devstack/) and the tests stay out.
COPY pyproject.toml README.md ./
COPY lua/ lua/
COPY workloads/src/ workloads/src/
COPY operator/src/ operator/src/
RUN /opt/wheel-build/bin/pip wheel --no-deps --no-build-isolation --no-index -w /dist .

FROM ${BASE}
ENV PATH=/opt/gavel/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A fixed numeric uid/gid, so Kubernetes can check runAsNonRoot (the chart runs as 10001).
RUN groupadd --system --gid 10001 gavel \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gavel --create-home \
      --shell /usr/sbin/nologin gavel
# Every dependency has a manylinux wheel for CPython 3.11, so no compiler is needed.
COPY --from=requirements /requirements/runtime.txt /opt/gavel-requirements.txt
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && python3 -m venv /opt/gavel \
 && /opt/gavel/bin/pip install -r /opt/gavel-requirements.txt
# Gavel's own wheel: a layer of about a megabyte, the only one a source edit changes.
COPY --from=wheel /dist /tmp/dist
RUN /opt/gavel/bin/pip install --no-deps --no-index /tmp/dist/*.whl \
 && rm -rf /tmp/dist \
 && /opt/gavel/bin/python -c "from gavel.luascripts import lua_dir, script; print(lua_dir()); script('place_bid')"
# The gateway's disk outbox defaults to ./outbox: the working directory is the user's own.
WORKDIR /var/lib/gavel
USER 10001:10001
ENTRYPOINT ["gavel"]
CMD ["--help"]
