# Production image: one image for web (ASGI), worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir -e .
COPY . .
RUN python manage.py compilemessages -v0 --ignore=.venv \
 && SECRET_KEY=build python manage.py collectstatic --noinput -v0
RUN useradd --create-home helpdesk && mkdir -p /app/var/media && chown -R helpdesk /app/var
USER helpdesk
EXPOSE 8000
CMD ["uvicorn", "helpdesk.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
