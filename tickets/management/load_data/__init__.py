"""The parts of `manage.py generate_load_data`: vocabulary, row generator, bulk writer."""
