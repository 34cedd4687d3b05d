# vllm-router from PyPI, for deploy/router.yaml:  docker build -f deploy/router.Dockerfile -t swift-vllm-router .
FROM python:3.12-slim
RUN pip install --no-cache-dir vllm-router
USER 1000:1000
ENTRYPOINT ["vllm-router"]
