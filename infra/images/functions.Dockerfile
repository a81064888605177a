# Lambda container image for validate_face: the `functions` package, the base dependencies
# and the face detector (the `detect` extra), as pyproject.toml lists them.
# Build context: the repository root (the CDK app sends only pyproject.toml,
# infra/requirements.py and functions/). The handler is set by the CDK app (CMD).
FROM public.ecr.aws/lambda/python:3.12

COPY pyproject.toml infra/requirements.py /tmp/build/
RUN python /tmp/build/requirements.py --pyproject /tmp/build/pyproject.toml --extra detect > /tmp/build/with-deps.txt \
 && python /tmp/build/requirements.py --pyproject /tmp/build/pyproject.toml --extra detect --no-deps-only > /tmp/build/no-deps.txt \
 && python -m pip install --no-cache-dir --target "${LAMBDA_TASK_ROOT}" --requirement /tmp/build/with-deps.txt \
 && python -m pip install --no-cache-dir --target "${LAMBDA_TASK_ROOT}" --no-deps --requirement /tmp/build/no-deps.txt \
 && rm -rf /tmp/build

COPY functions "${LAMBDA_TASK_ROOT}/functions"
