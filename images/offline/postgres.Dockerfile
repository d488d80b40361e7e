# Offline stand-in for postgres:16, built by scripts/offline-base.sh from Debian bookworm's
# postgresql-15 where no container registry is reachable. Same contract as the official image for
# what this project uses: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on first start, PGDATA at
# /var/lib/postgresql/data, `pg_isready` on PATH for healthchecks, postgres user uid/gid 999.
ARG DEBIAN_BASE_IMAGE
FROM ${DEBIAN_BASE_IMAGE}
RUN set -eux; \
    groupadd --system --gid 999 postgres; \
    useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres; \
    mkdir -p /var/lib/postgresql; chown postgres:postgres /var/lib/postgresql; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-common; \
    # No packaged "main" cluster: the entrypoint creates the cluster in PGDATA, as upstream does.
    sed -ri 's/#(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    mkdir -p /var/run/postgresql /var/lib/postgresql/data /docker-entrypoint-initdb.d; \
    chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql/data; \
    chmod 3777 /var/run/postgresql; \
    chmod 700 /var/lib/postgresql/data
ENV PATH=$PATH:/usr/lib/postgresql/15/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
