# ruff: noqa: E501 -- article texts keep one paragraph per line, as an editor types them.
"""Demo help-centre articles for an e-shop, in English, Polish and Czech.

seed_articles() is idempotent: articles are found by language and slug and
brought up to date, so running it again adds nothing.
"""

from __future__ import annotations

from django.db import transaction

from knowledge.models import Article

# (language, slug, title, body)
ARTICLES: list[tuple[str, str, str, str]] = [
    # --- English ---------------------------------------------------------------
    (
        "en",
        "track-your-order",
        "Where is my order? Tracking your parcel",
        """\
As soon as your order leaves our warehouse, we send you an email and a text message with the tracking number and a link to the carrier's website.

You can also follow the parcel in your account: open My orders and select the order. The status is updated several times a day.

If the tracking has not moved for more than two working days:
- check whether the courier left a delivery notice or a pickup code,
- look for the parcel at the pickup point or parcel locker you chose,
- write to us in the chat with your order number and we will contact the carrier for you.""",
    ),
    (
        "en",
        "returns-and-refunds",
        "Returns and refunds",
        """\
You can return goods bought in our shop within 30 days of delivery without giving a reason. Please send them back unused and, if possible, in the original packaging.

How to return an order:
- Fill in the return form in My orders, or send us your order number in the chat.
- Pack the goods securely and stick the printed return label on the parcel.
- Hand the parcel in at any of the carrier's pickup points.

We refund the price of the goods and the original delivery cost within 14 days of receiving the return, using the payment method you paid with. Sending the parcel back with our label is free.

A refund to a card usually appears on your statement 3–5 working days after we send it.""",
    ),
    (
        "en",
        "complaints-faulty-goods",
        "Complaints about faulty or damaged goods",
        """\
If a product stops working or arrives damaged, you can make a complaint. We are responsible for faults for two years from delivery.

To make a complaint, send us:
- your order number,
- a short description of the fault,
- photos of the product and, if it was damaged in transit, of the packaging.

Use the complaint form in My orders or write to us in the chat. Within 3 working days we will tell you where to send the product, or book a courier to collect it at our cost.

We decide on every complaint within 14 days. We repair the product or replace it with a new one, and if neither is possible, we refund you.

If the parcel is visibly damaged when it arrives, ask the courier to write a damage report.""",
    ),
    (
        "en",
        "delivery-times-and-costs",
        "Delivery times and costs",
        """\
Orders placed on a working day by 2 p.m. leave our warehouse the same day. Delivery usually takes 1–2 working days.

Delivery options and prices:
- Courier to your address: €4.90
- Pickup point or parcel locker: €2.90
- Express next-day delivery (orders by 12 noon): €8.90

Delivery is free on orders over €60.

We also ship to most countries of the European Union, including Slovakia. Delivery abroad takes 3–5 working days, and you will see its price in the basket before you pay.""",
    ),
    (
        "en",
        "payment-methods",
        "Payment methods",
        """\
You can pay for your order in any of these ways:
- by card (Visa, Mastercard),
- with Apple Pay or Google Pay,
- by bank transfer – we ship the goods once the payment arrives,
- cash on delivery, for an extra €1.50.

Card and wallet payments are confirmed at once, so your order goes to the warehouse straight away. A bank transfer usually takes one working day.

If a payment fails, the order waits in your account for 3 days: open My orders and choose Pay again. We never charge you twice for one order; if your bank blocked the money for a failed payment, it releases it within a few days.

We email an invoice with every order. Businesses can enter their VAT number in the basket.""",
    ),
    (
        "en",
        "change-or-cancel-an-order",
        "Changing or cancelling an order",
        """\
You can change or cancel an order until we pack it, which is usually an hour or two after you place it.

To cancel an order, open My orders, select it and choose Cancel order. If the button is not there, the order is already being packed – write to us in the chat and we will try to stop it.

At your request we can change:
- the delivery address or pickup point,
- the delivery method,
- the number of items, or add something to the order.

If you cancel an order you have already paid for, we refund the money within 3 working days to the same account or card.

Once the parcel is on its way, you can refuse it on delivery or return the goods within 30 days.""",
    ),
    (
        "en",
        "reset-your-password",
        "Resetting your password",
        """\
If you have forgotten your password, click Sign in and then Forgot password. Enter the email address you sign in with and we will send you a link to set a new password.

The link is valid for one hour and works only once. If it has expired, simply ask for a new one.

Didn't get the email?
- check your spam or promotions folder,
- make sure you entered the address you registered with,
- wait a few minutes and try again.

For your security, our staff will never ask you for your password, in the chat or on the phone.""",
    ),
    # --- Polski ----------------------------------------------------------------
    (
        "pl",
        "sledzenie-zamowienia",
        "Gdzie jest moja paczka? Śledzenie zamówienia",
        """\
Gdy tylko zamówienie opuści nasz magazyn, wyślemy Ci e-mail i SMS z numerem przesyłki oraz linkiem do strony przewoźnika.

Status paczki sprawdzisz też na swoim koncie: wejdź w Moje zamówienia i wybierz zamówienie. Informacje aktualizujemy kilka razy dziennie.

Jeśli status przesyłki nie zmienił się od ponad dwóch dni roboczych:
- sprawdź, czy kurier nie zostawił awiza lub kodu odbioru,
- zajrzyj do wybranego punktu odbioru albo paczkomatu,
- napisz do nas na czacie i podaj numer zamówienia – sami skontaktujemy się z przewoźnikiem.""",
    ),
    (
        "pl",
        "zwrot-towaru",
        "Zwrot towaru",
        """\
Towar kupiony w naszym sklepie możesz zwrócić w ciągu 30 dni od doręczenia, bez podawania przyczyny. Produkt nie powinien nosić śladów użytkowania i najlepiej, żeby wrócił w oryginalnym opakowaniu.

Jak zwrócić towar:
- Wypełnij formularz zwrotu w zakładce Moje zamówienia albo podaj nam numer zamówienia na czacie.
- Starannie zapakuj towar i naklej na paczkę wydrukowaną etykietę zwrotną.
- Nadaj paczkę w dowolnym punkcie przewoźnika lub w paczkomacie.

Zwrócimy Ci pieniądze za towar i za pierwotną dostawę w ciągu 14 dni od otrzymania zwrotu, tą samą metodą płatności, której użyto przy zakupie. Odesłanie paczki z naszą etykietą jest bezpłatne.

Pieniądze zwrócone na kartę widać zwykle na rachunku po 3–5 dniach roboczych od zlecenia zwrotu.""",
    ),
    (
        "pl",
        "reklamacja",
        "Reklamacja wadliwego lub uszkodzonego towaru",
        """\
Jeśli produkt przestał działać albo dotarł uszkodzony, możesz złożyć reklamację. Za niezgodność towaru z umową odpowiadamy przez dwa lata od jego dostarczenia.

Do zgłoszenia reklamacji przygotuj:
- numer zamówienia,
- krótki opis wady,
- zdjęcia produktu, a jeśli uszkodził się w transporcie, także zdjęcia opakowania.

Reklamację zgłosisz przez formularz w zakładce Moje zamówienia albo na czacie. W ciągu 3 dni roboczych podamy adres, na który trzeba wysłać produkt, lub zamówimy kuriera, który odbierze go na nasz koszt.

Na każdą reklamację odpowiadamy w ciągu 14 dni. Produkt naprawimy albo wymienimy na nowy, a jeśli to niemożliwe – zwrócimy pieniądze.

Jeśli paczka jest widocznie uszkodzona już przy odbiorze, poproś kuriera o spisanie protokołu szkody.""",
    ),
    (
        "pl",
        "czas-i-koszt-dostawy",
        "Czas i koszt dostawy",
        """\
Zamówienia złożone w dzień roboczy do 14:00 wysyłamy jeszcze tego samego dnia. Dostawa trwa zwykle 1–2 dni robocze.

Sposoby dostawy i ceny:
- Kurier pod wskazany adres: 14,99 zł
- Paczkomat lub punkt odbioru: 9,99 zł
- Kurier ekspresowy na następny dzień (zamówienia do 12:00): 24,99 zł

Przy zamówieniach powyżej 200 zł dostawa jest bezpłatna.

Wysyłamy też do większości krajów Unii Europejskiej. Dostawa za granicę trwa 3–5 dni roboczych, a jej koszt zobaczysz w koszyku przed zapłatą.""",
    ),
    (
        "pl",
        "metody-platnosci",
        "Metody płatności",
        """\
Za zamówienie możesz zapłacić na jeden z tych sposobów:
- BLIK-iem,
- szybkim przelewem online,
- kartą płatniczą (Visa, Mastercard),
- zwykłym przelewem – towar wyślemy po zaksięgowaniu wpłaty,
- za pobraniem, z dopłatą 5 zł.

Płatności BLIK-iem, kartą i szybkim przelewem są potwierdzane natychmiast, więc zamówienie od razu trafia do realizacji. Zwykły przelew księgujemy najczęściej w ciągu jednego dnia roboczego.

Jeśli płatność się nie powiodła, zamówienie czeka na Twoim koncie przez 3 dni: wejdź w Moje zamówienia i wybierz Zapłać ponownie. Za jedno zamówienie nigdy nie pobieramy pieniędzy dwa razy – ewentualną blokadę środków bank zdejmie w ciągu kilku dni.

Do każdego zamówienia wystawiamy fakturę i wysyłamy ją e-mailem. Firmy mogą podać NIP w koszyku.""",
    ),
    (
        "pl",
        "zmiana-lub-anulowanie-zamowienia",
        "Zmiana lub anulowanie zamówienia",
        """\
Zamówienie możesz zmienić lub anulować, dopóki go nie spakujemy – zwykle masz na to godzinę lub dwie od jego złożenia.

Aby anulować zamówienie, wejdź w Moje zamówienia, wybierz je i kliknij Anuluj zamówienie. Jeśli nie widzisz tego przycisku, zamówienie jest już pakowane – napisz do nas na czacie, a spróbujemy je zatrzymać.

Na Twoją prośbę możemy zmienić:
- adres dostawy lub punkt odbioru,
- sposób dostawy,
- liczbę sztuk, a także dodać coś do zamówienia.

Jeśli anulujesz opłacone już zamówienie, zwrócimy pieniądze w ciągu 3 dni roboczych na to samo konto lub kartę.

Gdy paczka jest już w drodze, możesz odmówić jej przyjęcia albo odesłać ją w ciągu 30 dni.""",
    ),
    (
        "pl",
        "resetowanie-hasla",
        "Resetowanie hasła do konta",
        """\
Jeśli nie pamiętasz hasła, kliknij Zaloguj się, a potem Nie pamiętam hasła. Wpisz adres e-mail, którego używasz do logowania, a wyślemy Ci link do ustawienia nowego hasła.

Link jest ważny przez godzinę i działa tylko raz. Jeśli wygasł, po prostu poproś o nowy.

Wiadomość nie dotarła?
- sprawdź folder Spam i zakładkę Oferty,
- upewnij się, że wpisujesz adres podany przy rejestracji,
- odczekaj kilka minut i spróbuj ponownie.

Dla Twojego bezpieczeństwa nasi pracownicy nigdy nie poproszą Cię o hasło – ani na czacie, ani przez telefon.""",
    ),
    # --- Čeština ---------------------------------------------------------------
    (
        "cs",
        "sledovani-objednavky",
        "Kde je moje zásilka? Sledování objednávky",
        """\
Jakmile objednávka opustí náš sklad, pošleme vám e-mail a SMS s číslem zásilky a odkazem na stránky dopravce.

Stav zásilky najdete také ve svém účtu: otevřete Moje objednávky a vyberte objednávku. Informace aktualizujeme několikrát denně.

Pokud se stav zásilky nezměnil déle než dva pracovní dny:
- zkontrolujte, zda vám kurýr nenechal oznámení nebo kód k vyzvednutí,
- podívejte se na výdejní místo nebo do boxu, který jste si vybrali,
- napište nám do chatu číslo objednávky a s dopravcem to vyřešíme za vás.""",
    ),
    (
        "cs",
        "vraceni-zbozi",
        "Vrácení zboží",
        """\
Zboží zakoupené v našem e-shopu můžete bez udání důvodu vrátit do 30 dnů od doručení. Mělo by být nepoužité a pokud možno v původním obalu.

Jak zboží vrátit:
- Vyplňte formulář pro vrácení v sekci Moje objednávky, nebo nám do chatu napište číslo objednávky.
- Zboží pečlivě zabalte a nalepte na balík vytištěný štítek pro vrácení.
- Balík odevzdejte na kterémkoli výdejním místě dopravce.

Peníze za zboží i za původní dopravu vám vrátíme do 14 dnů od převzetí vráceného zboží, a to stejným způsobem, jakým jste platili. Zaslání zpět s naším štítkem je zdarma.

Peníze vrácené na kartu se na výpisu obvykle objeví do 3–5 pracovních dnů.""",
    ),
    (
        "cs",
        "reklamace",
        "Reklamace vadného nebo poškozeného zboží",
        """\
Pokud výrobek přestal fungovat nebo dorazil poškozený, můžete ho reklamovat. Za vady zboží odpovídáme 24 měsíců od převzetí.

K reklamaci nám pošlete:
- číslo objednávky,
- stručný popis vady,
- fotografie výrobku, a pokud se poškodil při přepravě, i fotografie obalu.

Reklamaci podáte formulářem v sekci Moje objednávky nebo v chatu. Do 3 pracovních dnů vám pošleme adresu, kam výrobek zaslat, nebo na naše náklady objednáme kurýra, který si ho vyzvedne.

Reklamaci vyřídíme nejpozději do 30 dnů. Výrobek opravíme nebo vyměníme za nový, a pokud to nepůjde, vrátíme vám peníze.

Pokud je balík už při převzetí viditelně poškozený, sepište s kurýrem záznam o poškození zásilky.""",
    ),
    (
        "cs",
        "doprava-doba-a-cena-doruceni",
        "Doprava: doba a cena doručení",
        """\
Objednávky přijaté v pracovní den do 14:00 odesíláme ještě týž den. Doručení obvykle trvá 1–2 pracovní dny.

Způsoby doručení a ceny:
- Kurýr na vaši adresu: 99 Kč
- Výdejní místo nebo výdejní box: 69 Kč
- Expresní doručení další den (objednávky do 12:00): 149 Kč

Při nákupu nad 1 500 Kč je doprava zdarma.

Zboží posíláme také do většiny zemí Evropské unie, včetně Slovenska. Doručení do zahraničí trvá 3–5 pracovních dnů a jeho cenu uvidíte v košíku před zaplacením.""",
    ),
    (
        "cs",
        "zpusoby-platby",
        "Způsoby platby",
        """\
Objednávku můžete zaplatit některým z těchto způsobů:
- platební kartou (Visa, Mastercard),
- přes Apple Pay nebo Google Pay,
- rychlým bankovním převodem přímo z internetového bankovnictví,
- běžným bankovním převodem – zboží odešleme po připsání platby,
- na dobírku, s příplatkem 39 Kč.

Platba kartou, přes Apple Pay či Google Pay nebo rychlým převodem se potvrdí okamžitě a objednávka jde hned k vyřízení. Běžný převod obvykle trvá jeden pracovní den.

Pokud se platba nezdařila, objednávka na vás ve vašem účtu počká 3 dny: otevřete Moje objednávky a zvolte Zaplatit znovu. Za jednu objednávku vám nikdy nestrhneme peníze dvakrát – případnou blokaci peněz banka uvolní během několika dnů.

Ke každé objednávce vystavíme fakturu a pošleme ji e-mailem. Firmy mohou v košíku vyplnit IČO a DIČ.""",
    ),
    (
        "cs",
        "zmena-nebo-zruseni-objednavky",
        "Změna nebo zrušení objednávky",
        """\
Objednávku můžete změnit nebo zrušit, dokud ji nezabalíme – obvykle do hodiny či dvou poté, co ji odešlete.

Objednávku zrušíte v sekci Moje objednávky: vyberte ji a klikněte na Zrušit objednávku. Pokud tlačítko nevidíte, objednávka se už balí – napište nám do chatu a pokusíme se ji zastavit.

Na vaši žádost můžeme změnit:
- doručovací adresu nebo výdejní místo,
- způsob doručení,
- počet kusů, případně do objednávky něco přidat.

Pokud zrušíte už zaplacenou objednávku, vrátíme vám peníze do 3 pracovních dnů na stejný účet nebo kartu.

Pokud už je balík na cestě, můžete ho odmítnout převzít, nebo zboží vrátit do 30 dnů.""",
    ),
    (
        "cs",
        "obnoveni-hesla",
        "Obnovení zapomenutého hesla",
        """\
Pokud jste zapomněli heslo, klikněte na Přihlásit se a potom na Zapomenuté heslo. Zadejte e-mail, který používáte k přihlášení, a pošleme vám odkaz pro nastavení nového hesla.

Odkaz platí jednu hodinu a dá se použít jen jednou. Pokud vypršel, jednoduše si vyžádejte nový.

E-mail nedorazil?
- podívejte se do složky Spam nebo Hromadné,
- zkontrolujte, že zadáváte stejnou adresu jako při registraci,
- počkejte pár minut a zkuste to znovu.

Kvůli vaší bezpečnosti se vás naši pracovníci na heslo nikdy nezeptají, a to ani v chatu, ani po telefonu.""",
    ),
]


def seed_articles() -> int:
    """Create or bring up to date the demo articles; returns how many the demo has.

    Keyed by language and slug, so a second run changes nothing but updated_at.
    An article an admin unpublished stays unpublished.
    """
    with transaction.atomic():
        for language, slug, title, body in ARTICLES:
            Article.objects.update_or_create(
                language=language,
                slug=slug,
                defaults={
                    "title": title,
                    "body": body,
                    "search_text": Article.search_text_for(title=title, body=body),
                },
            )
    return len(ARTICLES)
