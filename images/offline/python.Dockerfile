# Offline stand-in for python:3.12-slim, built by scripts/offline-base.sh where no container
# registry is reachable. Development only: it trusts the host's CA bundle (copied in by the script)
# so that pip works through a TLS-intercepting proxy; product images must never add that bundle.
# Differences from the official image: Debian's Python 3.11 in /usr/bin (not 3.12 in /usr/local).
ARG DEBIAN_BASE_IMAGE
FROM ${DEBIAN_BASE_IMAGE}
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    # Like the official image: `python` and `pip` on PATH, no PEP 668 lock on the interpreter.
    ln -s /usr/bin/python3 /usr/local/bin/python; \
    ln -s /usr/bin/pip3 /usr/local/bin/pip; \
    rm -f /usr/lib/python3*/EXTERNALLY-MANAGED; \
    python --version; pip --version
COPY host-ca-bundle.crt /etc/ssl/certs/ca-certificates.crt
ENV LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
