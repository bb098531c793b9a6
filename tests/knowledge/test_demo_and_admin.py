import pytest

from agents.accounts import create_agent
from knowledge.demo import seed_articles
from knowledge.models import Article
from knowledge.search import suggest_articles

pytestmark = pytest.mark.django_db


def test_seeding_the_demo_articles_twice_adds_nothing():
    first = seed_articles()
    count = Article.objects.count()

    assert seed_articles() == first == count
    assert Article.objects.count() == count
    for language in ("en", "pl", "cs"):
        assert Article.objects.filter(language=language, is_published=True).count() >= 6


def test_seeding_keeps_an_unpublished_article_unpublished():
    seed_articles()
    Article.objects.filter(slug="zwrot-towaru").update(is_published=False)

    seed_articles()

    assert not Article.objects.get(slug="zwrot-towaru").is_published


def test_an_article_edited_in_the_admin_is_found_by_its_new_words(client):
    admin, _ = create_agent(email="ada@example.com", password="correct-horse", role="admin")
    client.force_login(admin)
    form = {
        "title": "Vrácení peněz",
        "slug": "vraceni-penez",
        "language": "cs",
        "is_published": "on",
        "body": "Peníze vracíme do 14 dnů.",
    }

    assert client.get("/admin/knowledge/article/add/").status_code == 200
    response = client.post("/admin/knowledge/article/add/", form)

    assert response.status_code == 302
    article = Article.objects.get(slug="vraceni-penez")
    assert [s.id for s in suggest_articles("vraceni penez", language="cs")] == [article.pk]

    form["title"] = "Refundace"
    response = client.post(f"/admin/knowledge/article/{article.pk}/change/", form)

    assert response.status_code == 302
    assert suggest_articles("refundace", language="cs")[0].id == article.pk
    assert suggest_articles("vraceni penez", language="cs") == []


def test_the_admin_search_ignores_diacritics(client):
    admin, _ = create_agent(email="ada@example.com", password="correct-horse", role="admin")
    client.force_login(admin)
    seed_articles()

    response = client.get("/admin/knowledge/article/", {"q": "vraceni zbozi"})

    assert "Vrácení zboží" in response.content.decode()
