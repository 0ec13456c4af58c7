# devstack in a container: the whole system from one static binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/devstack ./tools/devstack && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/devstack /devstack
# The volume mounts over a directory the nonroot user owns, so it can write there.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/devstack", "-addr", "0.0.0.0:8080", "-data", "/data"]
