# The one image of Gavel, ghcr.io/gavel-dev/gavel: the `gavel` CLI runs every workload
# (gateway, relay, fanout, audit-writer) and the operator (`gavel operator run`).
#
#   docker build -t ghcr.io/gavel-dev/gavel:0.1.0 .
#
# The operator renders workload containers with `args` only (e.g. ["gateway", "--region", ...]),
# so the entrypoint is `gavel`. The Lua scripts need no extra step: the wheel built from
# pyproject.toml carries lua/ as the package data gavel/_lua, the first place lua_dir() looks
# after $GAVEL_LUA_DIR.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/gavel
WORKDIR /src
# Every dependency has a manylinux wheel for CPython 3.11, so no compiler is needed. Only the
# product's sources are copied: the local stack (devstack/) and the tests stay out of the image.
COPY pyproject.toml README.md ./
COPY lua/ lua/
COPY workloads/src/ workloads/src/
COPY operator/src/ operator/src/
RUN /opt/gavel/bin/pip install . \
 && /opt/gavel/bin/python -c "from gavel.luascripts import lua_dir, script; print(lua_dir()); script('place_bid')"

FROM python:3.11-slim
ENV PATH=/opt/gavel/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A fixed numeric uid/gid, so Kubernetes can check runAsNonRoot (the chart runs as 10001).
RUN groupadd --system --gid 10001 gavel \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gavel --create-home \
      --shell /usr/sbin/nologin gavel
COPY --from=build /opt/gavel /opt/gavel
# The gateway's disk outbox defaults to ./outbox: the working directory is the user's own.
WORKDIR /var/lib/gavel
USER 10001:10001
ENTRYPOINT ["gavel"]
CMD ["--help"]
