"""manage.py of the bench's django-helpdesk project; run it with var/bench-djhelpdesk/venv."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djhd_settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
