"""What the synthetic data is made of: names, conversations in en/pl/cs, inboxes, odds."""

from __future__ import annotations

from tickets.models import Channel, IdentityKind

TICKETS_PER_DAY = 1400  # a busy shop: 1M tickets is about two years of history
DAY = 86400.0
LOAD_DOMAIN = "load.example"
AGENT_PASSWORD = "load-data-password"

# --- static vocabulary ------------------------------------------------------------

NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # (male first, male last, female first, female last)
    "en": (
        ("James", "Oliver", "Harry", "George", "Jack", "Thomas", "William", "Daniel"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies"),
        ("Emma", "Olivia", "Sophie", "Amelia", "Isla", "Grace", "Charlotte", "Emily"),
        ("Smith", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Robinson", "Clarke"),
    ),
    "pl": (
        ("Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Łukasz", "Grzegorz", "Wojciech"),
        (
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
            "Dąbrowski",
        ),
        ("Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Joanna", "Magdalena", "Zofia", "Ewa"),
        (
            "Kowalska",
            "Wiśniewska",
            "Nowak",
            "Kamińska",
            "Lewandowska",
            "Zielińska",
            "Woźniak",
            "Dąbrowska",
        ),
    ),
    "cs": (
        ("Jan", "Petr", "Tomáš", "Jiří", "Martin", "Pavel", "Lukáš", "Jakub"),
        ("Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák"),
        ("Jana", "Eva", "Hana", "Lucie", "Kateřina", "Tereza", "Veronika", "Markéta"),
        (
            "Nováková",
            "Svobodová",
            "Dvořáková",
            "Černá",
            "Procházková",
            "Kučerová",
            "Veselá",
            "Horáková",
        ),
    ),
}
COMPANIES = (
    "",
    "",
    "",
    "",
    "Acme s.r.o.",
    "Nordwind Sp. z o.o.",
    "Brightside Ltd",
    "Kwiatkowski i Syn",
    "Pivovar U Lípy",
    "Tatra Foods a.s.",
    "Greenleaf Ltd",
)
TIMEZONES = {"en": "Europe/London", "pl": "Europe/Warsaw", "cs": "Europe/Prague"}
PHONE_PREFIX = {"en": "+447", "pl": "+486", "cs": "+4206"}

# topic -> language -> (subject, first message, agent answer, customer follow-up)
TOPICS: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "delivery": {
        "en": (
            "Where is my order {order}?",
            "Hi, my order {order} still hasn't arrived. Can you check where it is?",
            "Hello {name}, thank you for writing. Order {order} is with the courier and "
            "should arrive within two days.",
            "It still hasn't come and the tracking page has not changed since Monday.",
        ),
        "pl": (
            "Gdzie jest moje zamówienie {order}?",
            "Dzień dobry, moje zamówienie {order} jeszcze nie dotarło. Czy mogą Państwo "
            "sprawdzić, gdzie jest?",
            "Dzień dobry, dziękujemy za wiadomość. Zamówienie {order} jest u kuriera i "
            "powinno dotrzeć w ciągu dwóch dni.",
            "Paczka nadal nie przyszła, a śledzenie przesyłki nie zmieniło się od poniedziałku.",
        ),
        "cs": (
            "Kde je moje objednávka {order}?",
            "Dobrý den, moje objednávka {order} ještě nedorazila. Můžete prosím zjistit, kde je?",
            "Dobrý den, děkujeme za zprávu. Objednávka {order} je u dopravce a měla by "
            "dorazit do dvou dnů.",
            "Zásilka pořád nepřišla a sledování se od pondělí nezměnilo.",
        ),
    },
    "billing": {
        "en": (
            "Charged twice for invoice {invoice}",
            "I was charged twice for invoice {invoice}. Please refund the duplicate payment.",
            "I'm sorry for the trouble. I've refunded the duplicate payment; it will appear "
            "on your account in 3–5 business days.",
            "Could you send me a corrected invoice as well, please?",
        ),
        "pl": (
            "Podwójne obciążenie za fakturę {invoice}",
            "Zostałem obciążony dwa razy za fakturę {invoice}. Proszę o zwrot podwójnej płatności.",
            "Przepraszamy za kłopot. Zleciłam zwrot podwójnej płatności; pojawi się na "
            "koncie w ciągu 3–5 dni roboczych.",
            "Czy mogą Państwo przesłać również fakturę korygującą?",
        ),
        "cs": (
            "Dvojí platba za fakturu {invoice}",
            "Za fakturu {invoice} mi byla stržena platba dvakrát. Prosím o vrácení "
            "duplicitní platby.",
            "Omlouváme se za potíže. Duplicitní platbu jsem vrátil; na účtu se objeví do "
            "3–5 pracovních dnů.",
            "Můžete mi prosím poslat i opravný daňový doklad?",
        ),
    },
    "login": {
        "en": (
            "Can't log in",
            "I can't log in to my account since yesterday, the password reset email never comes.",
            "I've sent you a new password reset link. Please check your spam folder too.",
            "Found it in spam, but the link says it has expired.",
        ),
        "pl": (
            "Nie mogę się zalogować",
            "Od wczoraj nie mogę zalogować się na konto, e-mail z resetem hasła nie przychodzi.",
            "Wysłałam nowy link do resetu hasła. Proszę sprawdzić także folder spam.",
            "Znalazłem go w spamie, ale link jest już nieaktywny.",
        ),
        "cs": (
            "Nemohu se přihlásit",
            "Od včerejška se nemohu přihlásit k účtu, e-mail pro obnovení hesla nepřichází.",
            "Poslala jsem vám nový odkaz pro obnovení hesla. Zkontrolujte prosím i složku "
            "se spamem.",
            "Našel jsem ho ve spamu, ale odkaz už prý vypršel.",
        ),
    },
    "address": {
        "en": (
            "Change delivery address for {order}",
            "Could you change the delivery address for order {order}? I moved last week.",
            "Done: order {order} will go to the new address. You'll get a new tracking "
            "number by email.",
            "Great, and can I also pick it up at a parcel locker instead?",
        ),
        "pl": (
            "Zmiana adresu dostawy {order}",
            "Czy można zmienić adres dostawy dla zamówienia {order}? W zeszłym tygodniu "
            "się przeprowadziłam.",
            "Gotowe: zamówienie {order} pojedzie na nowy adres. Nowy numer przesyłki "
            "przyjdzie e-mailem.",
            "Świetnie, a czy mogę zamiast tego odebrać paczkę w paczkomacie?",
        ),
        "cs": (
            "Změna doručovací adresy {order}",
            "Můžete změnit doručovací adresu u objednávky {order}? Minulý týden jsem se stěhovala.",
            "Hotovo: objednávka {order} pojede na novou adresu. Nové číslo zásilky vám "
            "přijde e-mailem.",
            "Skvělé, a mohu si ji místo toho vyzvednout na výdejním místě?",
        ),
    },
    "damaged": {
        "en": (
            "Damaged item in order {order}",
            "The product I received in order {order} is damaged. I'd like to return it "
            "and get a replacement.",
            "I'm sorry about that. Could you please send us a photo of the damaged item "
            "and the packaging?",
            "Photos attached. The box was already torn when the courier brought it.",
        ),
        "pl": (
            "Uszkodzony produkt w zamówieniu {order}",
            "Produkt z zamówienia {order} jest uszkodzony. Chciałbym go zwrócić i otrzymać nowy.",
            "Bardzo przepraszamy. Czy może Pan/Pani przesłać zdjęcie uszkodzonego produktu "
            "i opakowania?",
            "Zdjęcia w załączniku. Karton był rozdarty już przy odbiorze od kuriera.",
        ),
        "cs": (
            "Poškozené zboží v objednávce {order}",
            "Zboží z objednávky {order} je poškozené. Chtěl bych ho vrátit a dostat nové.",
            "Moc se omlouváme. Můžete nám prosím poslat fotografii poškozeného zboží a obalu?",
            "Fotky posílám v příloze. Krabice byla roztržená už při převzetí od kurýra.",
        ),
    },
}
TOPIC_WEIGHTS = (("delivery", 35), ("billing", 20), ("login", 20), ("address", 10), ("damaged", 15))
TOPIC_TAGS = {
    "delivery": ("shipping", "courier", "late-delivery"),
    "billing": ("refund", "invoice", "payment"),
    "login": ("account", "password", "bug"),
    "address": ("shipping", "address-change"),
    "damaged": ("return", "complaint", "reklamace"),
}
GENERAL_TAGS = ("vip", "urgent-followup", "feedback", "b2b", "faktura", "zwrot", "eshop")
THANKS = {
    "en": "Thank you, that solved it!",
    "pl": "Dziękuję, wszystko działa!",
    "cs": "Děkuji, vyřešeno!",
}
NUDGE = {
    "en": "Is there any update on this? I'm still waiting.",
    "pl": "Czy jest coś nowego w tej sprawie? Nadal czekam.",
    "cs": "Je v této věci něco nového? Pořád čekám.",
}
CLOSING = {
    "en": "Is there anything else I can help you with?",
    "pl": "Czy mogę jeszcze w czymś pomóc?",
    "cs": "Mohu vám ještě s něčím pomoci?",
}
NOTES = (
    "Checked with the warehouse: the parcel left yesterday.",
    "Customer called as well, same issue. Waiting for the courier's answer.",
    "Refund approved by billing, ref. {invoice}.",
    "Escalated to the e-shop team (bug in the password reset mail).",
)

TEAMS = ("Support", "Billing", "Technical", "Sales")
# (name, channel, language, team)
INBOXES = (
    ("Support (email)", Channel.EMAIL, "en", "Support"),
    ("Wsparcie (e-mail)", Channel.EMAIL, "pl", "Support"),
    ("Podpora (e-mail)", Channel.EMAIL, "cs", "Support"),
    ("Billing (email)", Channel.EMAIL, "en", "Billing"),
    ("SMS +48", Channel.SMS, "pl", "Support"),
    ("Messenger", Channel.MESSENGER, "en", "Support"),
    ("Web chat", Channel.WIDGET, "en", "Sales"),
)
CHANNEL_WEIGHTS = (
    (Channel.EMAIL, 50),
    (Channel.WIDGET, 25),
    (Channel.SMS, 12),
    (Channel.MESSENGER, 13),
)
IDENTITY_ODDS = (
    (IdentityKind.EMAIL, 0.85),
    (IdentityKind.PHONE, 0.45),
    (IdentityKind.MESSENGER, 0.25),
    (IdentityKind.WIDGET, 0.30),
)
KIND_FOR_CHANNEL = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.SMS: IdentityKind.PHONE,
    Channel.MESSENGER: IdentityKind.MESSENGER,
    Channel.WIDGET: IdentityKind.WIDGET,
}
KIND_BIT = {
    IdentityKind.EMAIL: 1,
    IdentityKind.PHONE: 2,
    IdentityKind.MESSENGER: 4,
    IdentityKind.WIDGET: 8,
}
LOCALES = ("en", "pl", "cs")
LOCALE_WEIGHTS = (40, 35, 25)
PRIORITIES = (1, 2, 3, 4)
PRIORITY_WEIGHTS = (20, 60, 15, 5)
