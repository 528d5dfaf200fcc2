#!/usr/bin/env python3
"""Generate the bundled textclf demo dataset (data/train.csv, data/test.csv).

Short customer-support messages sent to "Lumo Shop", a fictional online shop,
labelled with one of five classes: billing, shipping, technical, account,
feedback.  All text is synthetic and original to this project: it is built
from hand-written templates and slot fillers below.

The script uses only the standard library and a fixed random seed, so

    python data/make_demo.py

rewrites both CSV files byte-identically on every run.
"""

import csv
import os
import random
import re

SEED = 20240611
HERE = os.path.dirname(os.path.abspath(__file__))
SHOP = "Lumo Shop"

# Number of rows per class and split.  Feedback is deliberately a bit smaller.
COUNTS = {
    "billing": (125, 42),
    "shipping": (125, 42),
    "technical": (125, 42),
    "account": (125, 42),
    "feedback": (100, 32),
}
LABELS = list(COUNTS)
# Per class, this many templates are used for test rows only, giving
# HELD_OUT_ROWS test rows with phrasings never seen in training.
HELD_OUT = 4
HELD_OUT_ROWS = 8

# --------------------------------------------------------------------------
# Slot fillers
# --------------------------------------------------------------------------
SLOTS = {
    "product": [
        "wireless earbuds", "coffee grinder", "yoga mat", "desk lamp",
        "rain jacket", "phone case", "backpack", "kettle", "running shoes",
        "bluetooth speaker", "cast iron pan", "wool blanket", "smart watch",
        "water bottle", "office chair", "air fryer", "board game",
        "linen shirt", "plant pot", "USB-C charger", "hiking boots",
        "mechanical keyboard", "scented candle", "baby monitor", "tea set",
        "winter coat", "sunglasses", "blender", "camping tent", "jigsaw puzzle",
    ],
    # Amounts get one currency symbol per message (see fill()).
    "amount": [
        "12.99", "24.50", "39", "7.95", "149.00", "62.40", "18", "29.99",
        "54", "15.49", "89.00", "230", "4.99", "9.90", "71.25", "33",
    ],
    "currency": ["$", "$", "$", "€", "£"],
    "date": [
        "Monday", "Tuesday", "last Friday", "the 3rd", "March 14", "June 2nd",
        "the 21st", "yesterday", "last week", "Oct 9", "12/05", "2 May",
        "Sunday", "the weekend", "Nov 28", "January 30",
    ],
    "n": ["2", "3", "4", "5", "6", "7", "8", "10", "12", "14", "three", "five",
          "ten"],
    "name": [
        "Anna", "Marcus", "Priya", "Tom", "Zoë", "José", "Leila", "Ben",
        "Chen", "Fatima", "Olivia", "Jonas Müller", "Sam", "Kofi", "Ines",
        "Dmitri", "Hannah", "Raj", "Lucía", "Mike", "Aoife", "Noah",
    ],
    "device": [
        "iPhone 12", "iPhone 15", "Samsung Galaxy S22", "Pixel 7", "iPad",
        "Android tablet", "Windows laptop", "MacBook", "Chromebook",
        "old Android phone", "work PC", "Moto G",
    ],
    "browser": ["Chrome", "Firefox", "Safari", "Edge", "Opera", "Brave"],
    "error": [
        "error 500", "error 502", "a 404 page", "ERR_CONNECTION_RESET",
        "'Something went wrong'", "'Unexpected error, try again later'",
        "error code E-1042", "a timeout error", "'Request failed'",
        "error 0x8007", "a blank page", "'Oops! Page not found'",
    ],
    "card": ["Visa", "Mastercard", "debit card", "credit card", "Amex",
             "card"],
    "payment": ["PayPal", "Apple Pay", "Google Pay", "Klarna",
                "bank transfer", "cash on delivery", "gift cards"],
    "courier": ["the courier", "DHL", "UPS", "the delivery company",
                "the local post office", "FedEx", "the driver"],
    "city": ["Leeds", "Lyon", "Austin", "Porto", "Dublin", "Munich",
             "Toronto", "Kraków", "Denver", "Malmö", "Cork", "Bristol"],
    "country": ["Canada", "Ireland", "Germany", "Norway", "Australia",
                "Switzerland", "Mexico", "Japan", "Portugal", "Iceland"],
    "code": ["SPRING10", "WELCOME5", "FREESHIP", "LUMO20", "SAVE15",
             "BLACKFRIDAY", "VIP25"],
    "version": ["4.2", "4.2.1", "5.0", "5.1.3", "3.9"],
    "year": ["2019", "2020", "2021", "2022"],
}


def order_no(rng):
    style = rng.random()
    if style < 0.5:
        return "#" + str(rng.randint(100000, 999999))
    if style < 0.8:
        return "LS-" + str(rng.randint(10000, 99999))
    return str(rng.randint(1000000, 9999999))


def tracking_no(rng):
    return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
                          for _ in range(10))


def invoice_no(rng):
    return "INV-" + str(rng.randint(2000, 9999))


def phone_no(rng):
    return "+44 7{} {}".format(rng.randint(100, 999), rng.randint(100000, 999999))


DYNAMIC = {
    "order": order_no, "tracking": tracking_no,
    "invoice": invoice_no, "phone": phone_no,
}

# --------------------------------------------------------------------------
# Templates.  {slot} is filled from SLOTS / DYNAMIC ("product2", "amount2" ...
# draw a second, different value of the same slot); [a|b|c] picks one
# alternative.
# --------------------------------------------------------------------------
TEMPLATES = {
    "billing": [
        'I ordered a {product} on {date} and paid {amount} with my {card}. Two days later I noticed a second charge of {amount} on my statement. I only placed one order, so please refund the duplicate payment as soon as you can, because it has pushed my account into overdraft.',
        "Hello, I returned the {product} over {n} weeks ago using your prepaid label and the tracking shows you received it, but I still haven't had my refund. Can you check what is holding it up and tell me when the money will be back on my card?",
        "I was charged twice for order {order}.",
        "Why did you charge my {card} {amount} when the order total was {amount2}?",
        "Can I get a refund for the {product}? I sent it back on {date}.",
        "refund still not on my {card} after {n} days",
        "My payment keeps getting declined at checkout even though there's money on my {card}.",
        "Please send me an invoice for order {order} with my company name on it.",
        "I need a VAT receipt for the purchase I made on {date}.",
        "The discount code {code} didn't apply and I ended up paying full price.",
        "There's a charge of {amount} on my bank statement from {shop} that I don't recognise.",
        "How do I change the payment method for my {shop} Plus subscription?",
        "You billed me for {shop} Plus again after I cancelled the subscription [last month|in {date}|weeks ago].",
        "I paid with {payment} but the order still says payment pending.",
        "Can I pay for the {product} in instalments?",
        "The price dropped to {amount} a day after I bought the {product}. Can you refund the difference?",
        "I was charged {amount} for postage even though my basket was over the free delivery limit.",
        "Where is my refund for order {order}? You said it would take {n} business days.",
        "My gift card balance wasn't used properly and I was charged {amount} extra.",
        "Do you accept {payment}?",
        "Please cancel the pending charge of {amount}, that order was cancelled.",
        "My bank shows a pre-authorisation of {amount} from you that never dropped off.",
        "Invoice {invoice} has the wrong billing address on it.",
        "I only got a partial refund of {amount} but I returned the whole order.",
        "Can someone explain the extra fee on my last bill?",
        "The currency conversion charge on my order looks way too high.",
        "I was overcharged for the {product}, the listed price was {amount} but I paid {amount2}.",
        "refund for {order} [please|pls|asap]",
        "I'd prefer the money back to my {card} rather than store credit.",
        "My coupon expired while I was checking out and now the total is higher.",
        "Sales tax was added twice on my receipt for order {order}.",
        "Is there a restocking fee if I return the {product}?",
        "The price in the basket was different from the product page, I was charged {amount2} instead of {amount}.",
        "Can you refund the {amount} I paid? The {product} was faulty and I already returned it.",
        "My {card} was debited {amount} but the order doesn't show up anywhere.",
        "Do I get my money back if I cancel the order before it ships?",
        "Please split the payment between my gift card and my {card}.",
        "I was charged in euros instead of pounds, can you fix the billing currency?",
        "Who do I talk to about a disputed charge? My bank opened a chargeback.",
        "The receipt email shows {amount} but my card was charged {amount2}.",
    ],
    "shipping": [
        "I placed order {order} on {date} and paid for tracked delivery. The tracking said out for delivery all day, then changed to 'address not found' in the evening, even though the address is correct and other couriers find us fine. Can you arrange a redelivery or tell me where the parcel is now?",
        "My {product} was meant to come on {date} for my daughter's birthday. The delivery window has moved three times and now it just says 'delayed'. If it can't get to {city} by the weekend I'd rather cancel and get it somewhere else, so please let me know what's going on.",
        "Where is my order {order}? It was supposed to arrive on {date}.",
        "Tracking for {order} hasn't updated in {n} days.",
        "The {product} arrived damaged, the box was completely crushed.",
        "Can I change the delivery address for order {order}? I've moved to {city}.",
        "Do you ship to {country}?",
        "My parcel says delivered but I never got it.",
        "How long does standard delivery take to {city}?",
        "{courier} left my parcel with a neighbour and I have no idea which one.",
        "I received the wrong item. I ordered a {product} and got a {product2}.",
        "One item is missing from my package, the {product} wasn't in the box.",
        "Can I upgrade order {order} to express delivery?",
        "{courier} says my address is incomplete, can you sort it out?",
        "When will the {product} be back in stock and dispatched?",
        "My order has been stuck in customs in {country} for {n} days.",
        "Can I collect my order from a pickup point instead of home delivery?",
        "Why was my parcel returned to sender?",
        "I [chose|picked|selected] next day delivery and it took {n} days to arrive.",
        "Is it possible to send order {order} and {order2} together in one parcel?",
        "The tracking number {tracking} isn't recognised on the {courier} site.",
        "Where do I send the return parcel? I need a returns label for the {product}.",
        "The delivery driver never showed up, I waited in all day.",
        "Do you deliver on Saturdays?",
        "The box was left outside in the rain and the {product} is soaked.",
        "order {order} still says processing, when will it be dispatched",
        "Has my order shipped yet?",
        "My package went to my old address in {city}.",
        "You sent me two {product}s instead of one, how do I send one back?",
        "Can I schedule the delivery for after {date}? I'm away until then.",
        "The estimated delivery date keeps getting pushed back.",
        "Do you offer international shipping to {country}?",
        "My parcel has been sitting at the depot in {city} for a week.",
        "The courier marked it as 'failed delivery attempt' but nobody knocked.",
        "Can you leave the parcel in the safe place next time? Nobody is home during the day.",
        "The outer box was fine but the {product} inside was broken, I think it was handled badly in transit.",
        "I live in a flat with no buzzer, can the driver call me when they arrive?",
        "Half of order {order} arrived and the rest is not even on the tracking.",
        "Is there a way to ship the {product} as a gift with no packing slip inside?",
        "The package was delivered to the wrong house number.",
    ],
    "technical": [
        "Since yesterday your app crashes every time I open a product page on my {device}. I have already deleted and reinstalled it, restarted the phone and made sure I'm on version {version}, but it still closes straight away. The website works in {browser}, so it seems to be an app problem.",
        "When I try to check out on the website the spinner goes round for about a minute and then I get {error}. I've tried {browser} and another browser, with and without my ad blocker, and on two different networks. Is something broken on your side?",
        "The app crashes whenever I open my basket on my {device}.",
        "The checkout page shows {error} every time I press the button.",
        "Your website won't load on {browser}.",
        "I keep getting {error} when I search for {product}.",
        "Product images aren't loading, just grey boxes.",
        "The promo code box is greyed out and I can't type in it.",
        "The 'add to basket' button does nothing on my {device}.",
        "Your site is really slow today, pages take forever to load.",
        "Push notifications stopped working after the last app update.",
        "The barcode scanner in the app won't focus on my {device}.",
        "I'm getting a blank white screen since updating the app to version {version}.",
        "The size filter doesn't work, it still shows every size.",
        "The page freezes when I try to upload a photo.",
        "The app won't install, the store says my {device} is not compatible.",
        "Your website just says {error}.",
        "The map on the tracking page is broken and only shows grey tiles.",
        "Dark mode makes the text unreadable in the app.",
        "Items in my wishlist vanish when I refresh the page.",
        "The captcha keeps failing even though I'm solving it correctly.",
        "My basket empties itself when my phone switches from wifi to mobile data.",
        "Product videos won't play in {browser} on my {device}.",
        "The app is stuck on the loading spinner and never opens.",
        "Is there a bug with search? It returns nothing for '{product}'.",
        "On my {device} the checkout button is hidden behind the footer so I can't tap it.",
        "The setup guide link for the {product} gives {error}.",
        "the app keeps crashing on {device}",
        "Your chat widget stops responding after the first message.",
        "Prices show up as NaN in the app on my {device}.",
        "The layout breaks completely when I zoom in on {browser}.",
        "The app drains my battery and gets really hot, is that a known bug?",
        "I get {error} when I try to open the order history page.",
        "Clicking the link in your newsletter opens a page that just spins forever.",
        "The website keeps redirecting me in a loop between two pages.",
        "Since version {version} the app shows the wrong language even though my phone is set to English.",
        "Sorting by price low to high doesn't actually sort anything.",
        "The QR code on the returns page won't render, it's just a broken image icon.",
        "Your site throws {error} on {browser} but works fine on my {device}.",
        "The compare feature shows the same product twice and then crashes the tab.",
    ],
    "account": [
        "I got an email saying my password was changed, but I didn't change it. Now I can't sign in, and the reset link goes to an email address I don't recognise. Please lock the account and help me get back in, I'm worried someone has my card details.",
        "I'd like to close my account completely and have all my personal data deleted, including my order history and saved addresses. Please confirm once this is done and let me know if you need anything from me to verify that it's really my account.",
        "I forgot my password and the reset email never arrives.",
        "How do I change the email address on my account?",
        "Please delete my account and all the data you hold about me.",
        "Someone logged into my account from {country}, I think I've been hacked.",
        "I can't sign in, it says my account is locked.",
        "How do I turn on two-factor authentication?",
        "I've accidentally got two accounts, can you merge them?",
        "I'd like to change my username to {name}.",
        "Unsubscribe me from all marketing emails please.",
        "The verification code never comes through to my phone.",
        "Please update the phone number on my profile to {phone}.",
        "I signed up with Google and now I can't set a password.",
        "My loyalty points have disappeared from my profile.",
        "How do I download a copy of my personal data?",
        "The password reset link says it has expired.",
        "Please reactivate my account, I closed it by mistake.",
        "Can I add my partner {name} as a second user on my account?",
        "I'm not getting the account confirmation email.",
        "How do I change the default delivery address saved in my profile?",
        "How do I remove a saved card from my account?",
        "My account page shows someone else's name, {name}.",
        "I never made an account with you but I got a welcome email.",
        "Please log me out of all devices.",
        "I want to correct my date of birth on my profile.",
        "Is my account still active? I haven't used it since {year}.",
        "It says 'email already in use' when I try to register.",
        "how do i reset my password",
        "Please change the name on my account to {name}.",
        "Why has my account been suspended?",
        "I can't remember which email address I signed up with.",
        "My account got merged with my husband's somehow and I can see his orders.",
        "Can I change my login from my old work email to my personal one?",
        "I keep being asked to verify my identity every time I sign in.",
        "Where do I find my membership number in my account settings?",
        "I want to close my account, what happens to my remaining store credit?",
        "Please stop sending the 'we miss you' emails, I've already opted out twice.",
        "The security question on my account was set by someone else, I don't know the answer.",
        "Can I have more than one account with the same phone number?",
    ],
    "feedback": [
        "I just wanted to take a minute to say thank you. I've ordered from lots of shops this year and yours is the only one where everything arrived on time, was packed nicely and was exactly as described. The {product} is lovely and I'll definitely be back.",
        "Honest feedback: the products are great but the website has become harder to use. The menus hide half the categories, the search doesn't understand typos and there are too many pop-ups. I still like shopping here but please think about simplifying things a bit.",
        "Just wanted to say the {product} is fantastic, thank you!",
        "Your support agent {name} was really helpful.",
        "The {product} arrived quicker than expected, very impressed.",
        "The new website design is confusing, I liked the old one better.",
        "Please add more colour options for the {product}.",
        "Your packaging uses way too much plastic.",
        "I've been shopping with you for {n} years and never had a problem.",
        "Terrible experience overall, I won't be ordering again.",
        "It would be great to have a proper size guide for shoes.",
        "Suggestion: let us save more than one basket.",
        "The quality of the {product} has really gone down lately.",
        "Love the app, five stars.",
        "Your prices are higher than other shops for the same stuff.",
        "Thanks for sorting my issue out so quickly.",
        "The wait on the phone line is far too long.",
        "I'd love a loyalty scheme with better rewards.",
        "The little handwritten note in the box was a lovely touch.",
        "Checkout is so much faster now, well done.",
        "Please bring back the old {product}, it was my favourite.",
        "Not happy with how my complaint was handled.",
        "Great sale last weekend, I got loads of bargains.",
        "Product descriptions should always mention the dimensions.",
        "Feature request: a dark mode for the website.",
        "I recommend {shop} to all my friends.",
        "The survey after my order was way too long.",
        "Keep up the good work!",
        "Your eco-friendly packaging is brilliant.",
        "Disappointed that the {product} looks nothing like the photos.",
        "I really like that you plant a tree for every order.",
        "The {product} is good value but the instructions could be clearer.",
        "Honestly the best online shop I've used this year.",
        "{name} on the chat went above and beyond, please pass on my thanks.",
        "It would be nice if the app remembered my favourite brands.",
        "Your emails are a bit too frequent, once a week would be plenty.",
        "The photos on the product pages are gorgeous, whoever takes them deserves a raise.",
    ],
}

# Messages whose wording touches two classes.  The label is the main intent.
OVERLAP = {
    "billing": [
        "My order never arrived so I cancelled it, but the money still hasn't come back.",
        'I changed my card in my account settings but you charged the old card anyway.',
        'The website said {error} at checkout but the payment still went through twice.',
        "The parcel arrived fine but I was charged for delivery twice.",
        "Charged {amount} for an order that never arrived, I want my money back.",
        "The app crashed during checkout and now I've been charged twice.",
        "I deleted my account but you're still charging my {card} every month.",
        "Great products but the refund for order {order} is taking forever.",
    ],
    "shipping": [
        "You refunded the missing item but I'd rather you just sent it, is that possible?",
        "My account shows the order as delivered but the parcel isn't here.",
        "The app says my order shipped but the tracking link doesn't work.",
        "I paid {amount} for express shipping and the parcel is still not here.",
        "The tracking page in the app says delivered but there's no parcel at my door.",
        "I updated the address in my account but the parcel still went to the old one.",
        "Refund aside, I'd just like to know where the {product} actually is.",
    ],
    "technical": [
        'When I try to update my delivery address in the app it throws {error}.',
        "The 'pay now' button on my {device} does nothing, so I can't complete my order.",
        'The site logs me out every few minutes and empties my basket.',
        "Every time I try to pay the page shows {error} and nothing is charged.",
        "The login page just reloads when I press sign in, on {browser}.",
        "The reset password button on the website gives {error}.",
        "The review form crashes when I try to leave feedback.",
    ],
    "account": [
        "I can't log in to check my refund, it keeps saying wrong password.",
        'Please merge my guest order {order} into my account so I can track it.',
        'I want to stop receiving delivery text messages, where is that setting in my profile?',
        "I can't log in after changing my email, it says the user doesn't exist.",
        "Please remove my old card and delivery address from my profile.",
        "I want to change the email my receipts and invoices are sent to.",
        "Someone used my account to place an order to an address I don't know.",
    ],
    "feedback": [
        'The courier was rude and threw my parcel over the fence, not impressed.',
        'The new login page is much nicer, well done.',
        'Being charged for returns is a shame, it puts me off ordering.',
        "Delivery was quick and the driver was lovely, thanks!",
        "Love the products but your app crashes far too often.",
        "The refund process was painless, really appreciated.",
        "Signing up was really easy, nice job on the new account page.",
    ],
}

# A few messages with deliberately ambiguous wording (~2% of the data).
# They are not label noise: each label below is the most plausible intent.
AMBIGUOUS = [
    ("billing", "Still waiting on this. Order {order}, {amount}."),
    ("shipping", "It's been {n} days now and still nothing, order {order}."),
    ("technical", "Nothing happens when I click it."),
    ("account", "I can't get in."),
    ("feedback", "Well that was an experience."),
    ("billing", "Can you check what happened with the money?"),
    ("shipping", "Is it on its way?"),
    ("technical", "It doesn't work on my {device}."),
    ("account", "Please change my details, I've moved and got a new number."),
    ("feedback", "Honestly not sure what to say about order {order}."),
    ("billing", "order {order} - wrong amount"),
    ("shipping", "Order {order}, nothing yet?"),
    ("technical", "It did it again, same thing as yesterday."),
    ("account", "Who changed my settings?"),
    ("feedback", "About my last order... just wanted you to know."),
    ("billing", "I think there's a mistake with my order, the numbers don't add up."),
]

# Fixed hand-written edge cases that always go to the training split.
EDGE_CASES_TRAIN = [
    ("billing", "refund?"),
    ("billing", 'I was charged "$19.99, plus tax" for a "free" sample, why?'),
    ("shipping", "Hi,\nmy parcel (order #482913) still hasn't arrived.\nThanks, Renée"),
    ("feedback", "Merci! The café-style mugs are perfect 😍"),
    ("feedback", "Super Qualität, schnelle Lieferung. Danke! 👍"),
    ("technical", "App shows \"Fehler: Verbindung fehlgeschlagen\" on my Pixel 7 😩"),
    ("account", "Please update my surname to Müller, my email, too, has changed."),
    ("shipping", "Does \"2-3 days\" mean working days, or calendar days?"),
]

GREETINGS = [
    "Hi,", "Hello,", "Hi there,", "Hey,", "Good morning,", "Hello team,",
    "Dear {shop} support,", "Hi {shop},", "Hiya!", "Good afternoon.", "hey -",
]
CONTEXT = [
    "I ordered a {product} [last week|on {date}|a few days ago].",
    "I've been a customer for a while.",
    "This is my second message about this.",
    "I'm writing from my {device}.",
    "My order number is {order}.",
    "Sorry if this is the wrong place to ask.",
    "I tried the help pages already.",
    "It's for a birthday present so it's a bit urgent.",
]
SIGNOFFS = [
    "Thanks", "Thanks, {name}", "Regards, {name}", "Please help.", "Cheers",
    "ASAP please", "Thank you in advance!", "Many thanks", "Thx", "- {name}",
    "Kind regards", "Appreciate it.",
]
# Side remarks borrowed from the vocabulary of one class but appended to a
# message of another class, so that individual words are not perfect cues.
ASIDES = {
    "billing": ["I paid with my {card}.", "It cost {amount}.",
                "I paid for it on {date}.", "I used the code {code}."],
    "shipping": ["It was delivered on {date}.", "It came with {courier}.",
                 "I live in {city}.", "The order arrived on time."],
    "technical": ["I'm using the app on my {device}.", "I'm on {browser}.",
                  "The app is up to date.", "I already cleared my cache."],
    "account": ["I'm logged into my account.", "My account email is the same.",
                "I signed up last year.", "My username is {name}."],
    "feedback": ["Otherwise I love your shop.", "Usually your service is great.",
                 "Not impressed so far.", "Really like your products though."],
}

MISSPELL = {
    "received": "recieved", "definitely": "definately", "address": "adress",
    "password": "pasword", "account": "acount", "payment": "paymnet",
    "receipt": "reciept", "delivery": "delivary", "because": "becuase",
    "website": "webiste", "refund": "refudn", "package": "pakage",
    "arrived": "arived", "separate": "seperate", "business": "buisness",
    "please": "pls", "thanks": "thx", "you": "u",
}

CHOICE_RE = re.compile(r"\[([^\[\]]*)\]")
SLOT_RE = re.compile(r"\{(\w+?)(2)?\}")


def fill(template, rng):
    template = CHOICE_RE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    chosen = {}

    def repl(m):
        name = m.group(1)
        if name == "shop":
            return SHOP
        if name in DYNAMIC:
            return DYNAMIC[name](rng)
        # "x" and "x2" in one message always get different values.
        used = chosen.setdefault(name, [])
        value = rng.choice([v for v in SLOTS[name] if v not in used])
        used.append(value)
        if name == "amount":
            if "$currency" not in chosen:
                chosen["$currency"] = rng.choice(SLOTS["currency"])
            value = chosen["$currency"] + value
        return value

    return SLOT_RE.sub(repl, template)


def typo(text, rng):
    """Introduce one realistic typo."""
    words = text.split(" ")
    if rng.random() < 0.5:
        idx = [i for i, w in enumerate(words) if w.lower().strip(".,!?") in MISSPELL]
        if idx:
            i = rng.choice(idx)
            core = words[i].strip(".,!?")
            new = MISSPELL[core.lower()]
            if core[:1].isupper():
                new = new.capitalize()
            words[i] = words[i].replace(core, new, 1)
            return " ".join(words)
    idx = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 4]
    if not idx:
        return text
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.random()
    if kind < 0.4:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]   # swap neighbours
    elif kind < 0.75:
        w = w[:j] + w[j + 1:]                        # drop a letter
    else:
        w = w[:j] + w[j] + w[j:]                     # double a letter
    words[i] = w
    return " ".join(words)


def restyle(text, rng):
    """Vary casing and final punctuation."""
    r = rng.random()
    if r < 0.12:
        text = text.lower()
    elif r < 0.15 and len(text.split()) < 14:
        text = text.upper()
    r = rng.random()
    if text.endswith(".") and r < 0.25:
        text = text[:-1]
    elif text.endswith(".") and r < 0.32:
        text = text[:-1] + "!"
    elif text.endswith("?") and r < 0.15:
        text = text + "??"
    elif r < 0.05:
        text = text.rstrip(".!?") + "..."
    if rng.random() < 0.08:
        text = text.replace(", ", " ", 1)
    return text


def compose(label, template, rng):
    parts = []
    if rng.random() < 0.3:
        parts.append(fill(rng.choice(GREETINGS), rng))
    if rng.random() < 0.15:
        parts.append(fill(rng.choice(CONTEXT), rng))
        if rng.random() < 0.3:
            parts.append(fill(rng.choice(CONTEXT), rng))
    parts.append(fill(template, rng))
    if rng.random() < 0.4:
        other = rng.choice([l for l in LABELS if l != label])
        parts.append(fill(rng.choice(ASIDES[other]), rng))
    if rng.random() < 0.25:
        parts.append(fill(rng.choice(SIGNOFFS), rng))
    text = " ".join(parts)
    if rng.random() < 0.2:
        text = typo(text, rng)
    return restyle(text, rng)


def norm_key(text):
    """Key used for de-duplication (case and punctuation insensitive)."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def draw(label, templates, count, rng, seen):
    """Compose `count` new unique messages from `templates`."""
    out = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > 100000:
            raise RuntimeError("could not generate enough unique texts")
        # First cycle through the templates so every one gets used.
        if attempts <= len(templates):
            template = templates[attempts - 1]
        else:
            template = rng.choice(templates)
        text = compose(label, template, rng)
        if not 3 <= len(text.split()) <= 60:
            continue
        key = norm_key(text)
        if key in seen:
            continue
        seen[key] = True
        out.append(text)
    return out


def generate():
    rng = random.Random(SEED)
    seen = {}
    train, test = [], []

    for label, text in EDGE_CASES_TRAIN:
        seen[norm_key(text)] = True
        train.append((text, label))

    for label in LABELS:
        n_train, n_test = COUNTS[label]
        n_train -= sum(1 for l, _ in EDGE_CASES_TRAIN if l == label)

        # Ambiguous and two-topic messages, split at random like the rest.
        pool = []
        fixed = [t for l, t in AMBIGUOUS if l == label] + OVERLAP[label]
        for template in fixed:
            text = restyle(fill(template, rng), rng)
            key = norm_key(text)
            if key not in seen:
                seen[key] = True
                pool.append(text)

        # A few templates are held out: their messages appear only in the
        # test split, so the test set also measures unseen phrasings.
        templates = list(TEMPLATES[label])
        rng.shuffle(templates)
        held, shared = templates[:HELD_OUT], templates[HELD_OUT:]
        held_texts = draw(label, held, HELD_OUT_ROWS, rng, seen)

        pool += draw(label, shared, n_train + n_test - HELD_OUT_ROWS - len(pool),
                     rng, seen)
        rng.shuffle(pool)
        n_shared_test = n_test - HELD_OUT_ROWS
        test.extend((t, label) for t in held_texts + pool[:n_shared_test])
        train.extend((t, label) for t in pool[n_shared_test:])

    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def main():
    train, test = generate()
    write_csv(os.path.join(HERE, "train.csv"), train)
    write_csv(os.path.join(HERE, "test.csv"), test)
    for name, rows in (("train", train), ("test", test)):
        counts = {l: sum(1 for _, x in rows if x == l) for l in LABELS}
        print("{}: {} rows {}".format(name, len(rows), counts))


if __name__ == "__main__":
    main()
