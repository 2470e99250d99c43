"""The demo store's vocabulary: its clock, categories, brand words and population shares.

Part of :mod:`index_builder.demo` (its public door); these are the knobs that
make the synthetic store look like a shop, kept in one place so they read as a table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from protos import artifact

END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
"""The demo store's "now" (2026-11-01T00:00:00Z): all timestamps lie before it."""

DAY = 86_400
EVENT_DAYS = 183  # the event log covers about six months before END
ITEM_DAYS = 730  # items were listed over the last two years
SIGNUP_DAYS = 1095
MAX_VIEWS = 40  # per session
MAX_GAP = 480  # seconds between views
MAX_CHECKOUT = 360  # seconds from the last view to the purchases
SESSION_SPAN = MAX_VIEWS * MAX_GAP + MAX_CHECKOUT  # no session lasts longer

# name, median price, product lines, product nouns (each "|"-separated).
CATEGORIES: tuple[tuple[str, float, str, str], ...] = (
    ("shoes", 85, "Trail|Urban|Classic|Pro|Aero", "Running Shoe|Trail Shoe|Sneaker|Boot|Loafer"),
    ("laptops", 950, "Book|Air|Pro|Studio|Flex", "Laptop|Ultrabook|Notebook|Chromebook"),
    ("coffee", 14, "Morning|Dark|Single Origin|Espresso|House", "Beans|Ground Coffee|Capsules|Cold Brew"),
    ("headphones", 120, "Studio|Quiet|Sport|Bass|Air", "Headphones|Earbuds|Headset"),
    ("smartphones", 650, "Neo|Max|Mini|Ultra|Lite", "Phone|Smartphone"),
    ("t-shirts", 22, "Essential|Vintage|Graphic|Organic|Slim", "Tee|T-Shirt|Polo|Tank Top"),
    ("furniture", 380, "Nordic|Loft|Oak|Modular|Heritage", "Sofa|Desk|Bookshelf|Armchair|Dining Table"),
    ("skincare", 24, "Hydra|Pure|Glow|Calm|Renew", "Serum|Moisturizer|Cleanser|Sunscreen|Face Mask"),
    ("books", 16, "Collected|Illustrated|Pocket|Deluxe|First", "Novel|Cookbook|Biography|Guide|Anthology"),
    ("televisions", 800, "Vision|Cinema|Quantum|Smart|Frame", "TV|OLED TV|QLED TV"),
    ("tea", 9, "Garden|Imperial|Herbal|Breakfast|Jasmine", "Green Tea|Black Tea|Tea Bags|Loose Leaf Tea"),
    ("jeans", 60, "Slim|Relaxed|Straight|Raw|Stretch", "Jeans|Denim Jacket|Denim Shorts"),
    ("cameras", 700, "Alpha|Focus|Snap|Mirrorless|Action", "Camera|Lens|Camcorder"),
    ("toys", 28, "Junior|Adventure|Creative|Wonder|Mega", "Building Set|Puzzle|Plush Toy|Race Car|Doll"),
    ("cookware", 50, "Chef|Cast Iron|Ceramic|Everyday|Copper", "Frying Pan|Saucepan|Dutch Oven|Wok|Knife Set"),
    ("watches", 190, "Chrono|Diver|Field|Dress|Smart", "Watch|Smartwatch|Fitness Band"),
    ("pet food", 32, "Natural|Grain Free|Senior|Puppy|Wild", "Dog Food|Cat Food|Treats|Kibble"),
    ("monitors", 260, "Ultra|Gaming|Office|Curved|Pro", "Monitor|Display"),
    ("jackets", 130, "Storm|Alpine|City|Down|Rain", "Jacket|Parka|Windbreaker|Fleece"),
    ("snacks", 6, "Crunchy|Sea Salt|Spicy|Honey|Protein", "Crisps|Nut Mix|Granola Bar|Cookies|Popcorn"),
    ("kitchen appliances", 120, "Smart|Compact|Turbo|Barista|Classic",
     "Blender|Toaster|Kettle|Air Fryer|Espresso Maker"),
    ("fragrance", 75, "Noir|Citrus|Amber|Fresh|Velvet", "Eau de Parfum|Eau de Toilette|Cologne|Body Mist"),
    ("tablets", 420, "Tab|Pad|Slate|Note|Kids", "Tablet|E-Reader"),
    ("bicycles", 700, "Trail|Road|City|Gravel|Electric", "Bike|Mountain Bike|E-Bike|Helmet"),
    ("wine", 19, "Reserve|Estate|Vintage|Old Vine|Cuvee", "Red Wine|White Wine|Rose|Sparkling Wine"),
    ("dresses", 70, "Summer|Wrap|Midi|Evening|Linen", "Dress|Maxi Dress|Shirt Dress"),
    ("backpacks", 65, "Commuter|Trek|Daypack|Travel|Roll Top", "Backpack|Duffel|Messenger Bag"),
    ("bedding", 75, "Cloud|Linen|Percale|Cozy|Hotel", "Duvet|Pillow|Sheet Set|Blanket"),
    ("board games", 38, "Family|Strategy|Party|Classic|Deluxe", "Board Game|Card Game|Puzzle Game"),
    ("haircare", 16, "Repair|Volume|Curl|Silk|Daily", "Shampoo|Conditioner|Hair Oil|Styling Gel"),
    ("lighting", 45, "Lumen|Arc|Globe|Smart|Industrial", "Floor Lamp|Desk Lamp|Pendant Light|LED Strip"),
    ("keyboards", 75, "Mech|Silent|Tactile|Wireless|Compact", "Keyboard|Mouse|Keypad"),
    ("camping", 95, "Summit|Basecamp|Ultralight|Ridge|Forest", "Tent|Sleeping Bag|Camp Stove|Lantern"),
    ("fitness", 55, "Core|Power|Flex|Pro|Studio", "Yoga Mat|Dumbbell Set|Resistance Bands|Kettlebell"),
    ("garden", 42, "Green|Bloom|Patio|Harvest|Meadow", "Planter|Hose|Garden Tools|Seed Kit"),
    ("tools", 70, "Pro|Heavy Duty|Compact|Cordless|Precision", "Drill|Screwdriver Set|Saw|Tool Kit"),
    ("dairy", 4, "Farm|Organic|Alpine|Creamery|Valley", "Milk|Yogurt|Butter|Cheese|Oat Milk"),
    ("bakery", 4, "Rustic|Baker's|Stone Oven|Golden|Village", "Bread|Sourdough|Bagels|Croissants|Wraps"),
    ("produce", 3, "Fresh|Orchard|Garden|Organic|Harvest", "Bananas|Apples|Salad Mix|Tomatoes|Berries"),
    ("household", 9, "Fresh|Eco|Ultra|Pure|Active", "Detergent|Dish Soap|Paper Towels|Trash Bags|Cleaner"),
)
# The consumables department: categories shoppers restock, with the typical days between two
# purchases of one product (each product varies around it, each shopper around the product's cycle;
# see :mod:`restock`). Milk about weekly, coffee every two to four weeks, detergent about monthly.
REPURCHASE_DAYS = {"dairy": 7.0, "bakery": 6.0, "produce": 8.0, "snacks": 12.0, "wine": 16.0,
                   "coffee": 21.0, "pet food": 24.0, "household": 30.0, "tea": 35.0, "haircare": 40.0,
                   "skincare": 45.0}
RESTOCK_EVENT_SHARE = 0.20  # share of the event log made by grocery trips (restocking sessions)
# A trip buys every planned line, so its share and its browsing views are what keep the whole log's
# cart/view rate near e-commerce's (at most 0.2; test_demo_store.py).
TRIP_DAYS = 10.0  # median days between one shopper's grocery trips (each shopper varies around it)
REGULARS = 6.0  # mean consumables a grocery shopper keeps rebuying (their repertoire)
NEW_PER_TRIP = 1.2  # mean items a trip adds that the shopper has not bought before (exploration)
BASKET_LINES = 12  # most planned lines of one trip (regulars due plus new items)
RESTOCK_VIEWS = 5.0  # mean extra views of a trip beyond its planned lines (browsing the aisle)
BRAND_HEADS = (
    "Nor Vel Kal Lum Bex Cor Dun Fal Gral Hal Jun Kes Lyr Mar Nex Oak Pax Quin "
    "Ray Sol Tor Vox Wen Xan Zen Alp Brin Cal Del Fen Hart Jas Bram Cres Dal Ost"
).split()
BRAND_MIDDLES = ("", "a", "o", "i", "e", "u", "ar", "el", "en", "is", "an", "or", "in", "al", "er",
                 "on", "ad", "ev", "il", "ol", "ur", "ex", "ia", "et", "um", "em", "ab", "ic", "ot", "ul")
BRAND_TAILS = ("", "wood", "line", "tek", "vale", "mark", "gear", "craft", "field", "stone", "wave", "ford",
               "ton", "bridge", "worth", "ly", "co", "lab", "port", "crest", "dale", "well", "more", "hurst")
TIER_SHARE = (0.35, 0.45, 0.20)  # budget, mid, premium brands
TIER_PRICE = np.array([0.6, 1.0, 1.9])
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "NL", "ES", "IT", "SE", "AU", "PL")
COUNTRY_SHARE = (0.38, 0.12, 0.10, 0.08, 0.07, 0.05, 0.05, 0.05, 0.03, 0.04, 0.03)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_SHARE = (0.14, 0.28, 0.24, 0.17, 0.11, 0.06)
CHANNELS = artifact.CHANNELS[1:]  # web, app, email, store: decision.proto's Channel values after UNSPECIFIED
CHANNEL_SHARE = np.array([0.50, 0.30, 0.12, 0.08])
ANON_CHANNEL_SHARE = np.array([0.70, 0.15, 0.12, 0.03])
EVENT_TYPES = ("view", "cart", "purchase")
HOUR_SHARE = np.array([2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 6, 7, 8, 9, 10, 9, 6, 3], float)
