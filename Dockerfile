# The emulator as a container image. Build it with scripts/build-image.sh (offline but for PyPI:
# its base is the Debian that scripts/build-test-images.sh debootstraps; no registry pull), then:
#   docker run -v /var/run/docker.sock:/var/run/docker.sock -p 4566:4566 ecs-emulator:latest
# Tasks run as containers of the host's Docker Engine, beside this one (README: "Running the
# emulator as a container").
ARG BASE=ecs-emulator-test/python-boto3:latest
FROM ${BASE}

# venv and pip from Debian (plain HTTP to the Debian mirror, as debootstrap used).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3-venv ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

# Dependencies first, from pyproject.toml alone, so that a change of the code reuses this layer.
# build/pip-ca.crt, when the build script finds one, is the host's CA bundle (for a TLS proxy
# in front of PyPI); the wildcard lets a plain `docker build .` go without it.
COPY pyproject.toml README.md build/pip-ca.cr[t] /tmp/src/
RUN set -e; cert=""; [ -f /tmp/src/pip-ca.crt ] && cert="--cert /tmp/src/pip-ca.crt"; \
    mkdir -p /tmp/src/emulator /tmp/src/api_shapes; \
    touch /tmp/src/emulator/__init__.py /tmp/src/api_shapes/__init__.py; \
    python3 -m venv /opt/ecs-emulator; \
    /opt/ecs-emulator/bin/pip install -q --no-cache-dir --disable-pip-version-check $cert \
      /tmp/src "setuptools>=68"; \
    rm -rf /tmp/src

COPY pyproject.toml README.md /tmp/src/
COPY emulator /tmp/src/emulator
COPY api_shapes /tmp/src/api_shapes
# No network here: the build backend (setuptools) came with the dependencies.
RUN /opt/ecs-emulator/bin/pip install -q --no-cache-dir --disable-pip-version-check --no-deps \
      --no-build-isolation --no-index --force-reinstall /tmp/src \
 && rm -rf /tmp/src
# The compact copies of ECS's and ECR's models (api_shapes/model_cache.py), so that a container
# starts by reading them rather than botocore's JSON.
RUN /opt/ecs-emulator/bin/python -c "from api_shapes import load_service; load_service('ecs'); load_service('ecr')"
# And the compiled methods of the dataclasses `serve` builds at start-up (emulator/dataclass_code.py).
RUN /opt/ecs-emulator/bin/python -c "from emulator import dataclass_code; dataclass_code.write_copy()"

# 0.0.0.0: inside the container, so that the published port reaches it (whoever reaches the
# published port reaches the emulator: publish it on 127.0.0.1 to keep it to this host).
# "auto": the emulator finds its own container and joins its task network (runtime/own_container.py).
ENV PATH=/opt/ecs-emulator/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ECS_EMULATOR_HOST=0.0.0.0 \
    ECS_EMULATOR_PORT=4566 \
    ECS_EMULATOR_DATA_DIR=/var/lib/ecs-emulator \
    ECS_EMULATOR_OWN_CONTAINER=auto \
    PYTHONUNBUFFERED=1
RUN mkdir -p /var/lib/ecs-emulator
VOLUME /var/lib/ecs-emulator
EXPOSE 4566 4567
STOPSIGNAL SIGTERM
ENTRYPOINT ["ecs-emulator"]
CMD ["serve"]
