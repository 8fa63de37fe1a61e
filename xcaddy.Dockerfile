# Builds Caddy with Gatehouse using xcaddy, the usual way to add plugins to Caddy.
#
#   docker build -f xcaddy.Dockerfile -t gatehouse .
#   docker run -p 80:80 -p 443:443 -v $PWD/Caddyfile:/etc/caddy/Caddyfile -v gatehouse-data:/data gatehouse
#
# Gatehouse keeps its store under Caddy's data directory (/data/caddy/gatehouse/badger in
# this image) unless `storage badger <path>` says otherwise: keep /data on a volume.
FROM golang:1.26-bookworm AS build
RUN go install github.com/caddyserver/xcaddy/cmd/xcaddy@latest
WORKDIR /src
# Build from this checkout (replace with a version, e.g. @v0.1.0, to build a release).
COPY . /src/gatehouse
RUN xcaddy build v2.11.9 --output /usr/bin/caddy \
      --with github.com/gatehouse-dev/gatehouse=/src/gatehouse

FROM caddy:2.11.9
COPY --from=build /usr/bin/caddy /usr/bin/caddy
RUN caddy list-modules | grep -q gatehouse_protect
