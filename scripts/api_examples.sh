#!/usr/bin/env bash
# The README's API examples, run against a served demo (`make demo`): bash, curl and python3.
#
#     scripts/api_examples.sh                                    # the demo on http://127.0.0.1:8000
#     FYNLO_URL=http://127.0.0.1:8001 scripts/api_examples.sh
#
# Each block between "# ==" lines is shown verbatim in README.md, and tests/core/test_api_examples.py
# checks that and runs this script against a served demo. Every id comes from a response; curl's
# --fail-with-body stops the script at the first error and prints the error's body.
set -euo pipefail

# == setup
SITE=${FYNLO_URL:-http://127.0.0.1:8000}; API=$SITE/api/v1
PASSWORD=${DEMO_PASSWORD:-fynlo-demo-2025}   # the demo's logins: python manage.py seed_demo --print-logins
json() {  # json KEY...: a value of the JSON document on stdin (a number indexes a list)
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1:]: value = value[int(key)] if isinstance(value, list) else value[key]
print(value)' "$@"
}
login() {  # login EMAIL [PASSWORD] [DEVICE]: a new API token, one per login (device)
  curl -sS --fail-with-body -X POST "$API/auth/login" -H 'Content-Type: application/json' \
       -d "{\"email\": \"$1\", \"password\": \"${2:-$PASSWORD}\", \"device\": \"${3:-api_examples.sh}\"}" | json token
}
TOKEN=$(login manager@demo.com)

# == auth
curl -sS --fail-with-body "$API/auth/me" -H "Authorization: Bearer $TOKEN"; echo
# a cashier signed in on three devices: three tokens
TILL=$(login sarah.johnson@demo.com "$PASSWORD" "Till 2"); PHONE=$(login sarah.johnson@demo.com "$PASSWORD" Phone)
TABLET=$(login sarah.johnson@demo.com "$PASSWORD" Tablet)
curl -sS --fail-with-body -X POST "$API/auth/logout" -H "Authorization: Bearer $PHONE"   # 204: the phone only
curl -sS --fail-with-body "$API/auth/tokens/" -H "Authorization: Bearer $TILL"; echo
# [{"id": 13, "device": "Tablet", "created_at": "...", "last_used_at": null, "expires_at": "...", "current": false},
#  {"id": 11, "device": "Till 2", "created_at": "...", "last_used_at": "...", "expires_at": "...", "current": true}]
TABLET_ID=$(curl -sS --fail-with-body "$API/auth/tokens/" -H "Authorization: Bearer $TABLET" |
    python3 -c 'import json, sys; print(next(t["id"] for t in json.load(sys.stdin) if t["current"]))')
curl -sS --fail-with-body -X DELETE "$API/auth/tokens/$TABLET_ID/" -H "Authorization: Bearer $TILL"   # 204: another device
curl -sS --fail-with-body -X POST "$API/auth/logout?all=true" -H "Authorization: Bearer $TILL"   # 204: every device

# == orders
MENU=$(curl -sS --fail-with-body "$API/products/?available_in_pos=true" -H "Authorization: Bearer $TOKEN")
FIRST=$(echo "$MENU" | json 0 id); SECOND=$(echo "$MENU" | json 1 id)   # Barbacoa de Res 3.50, Camaron 4.50
KEY=$(python3 -c 'import uuid; print(uuid.uuid4())')   # one Idempotency-Key per order, the same on a retry
BODY='{"order_type": "dine_in", "table_number": "12", "discount_amount": "0.00", "items": [
        {"product_id": '"$FIRST"', "quantity": 1, "special_instructions": "no onions"},
        {"product_id": '"$SECOND"', "quantity": 2}]}'
ORDER=$(curl -sS --fail-with-body -X POST "$API/orders/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -H "Idempotency-Key: $KEY" -d "$BODY")
echo "$ORDER"
# 201 {"id": ..., "order_number": "<restaurant id>-<yyyymmdd>-0001", "status": "confirmed", "items": [...],
#      "subtotal": "12.50", "discount_amount": "0.00", "tax_amount": "2.50", "service_charge": "1.56",
#      "total_amount": "16.56", ...}
ORDER_ID=$(echo "$ORDER" | json id); TOTAL=$(echo "$ORDER" | json total_amount)
curl -sS --fail-with-body -X POST "$API/orders/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -H "Idempotency-Key: $KEY" -d "$BODY" -o /dev/null \
     -D - | grep -i '^idempotent-replayed: true'   # a retry: the same order again, nothing new
COOK=$(login mike.chen@demo.com)   # the kitchen moves an order to preparing and ready, nothing else
curl -sS --fail-with-body -X POST "$API/orders/$ORDER_ID/status/" -H "Authorization: Bearer $COOK" \
     -H 'Content-Type: application/json' -d '{"status": "preparing"}'
curl -sS --fail-with-body -X POST "$API/orders/$ORDER_ID/status/" -H "Authorization: Bearer $COOK" \
     -H 'Content-Type: application/json' -d '{"status": "ready"}'
PAYMENT=$(curl -sS --fail-with-body -X POST "$API/orders/$ORDER_ID/payments/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -d '{"payment_method": "cash", "amount": "'"$TOTAL"'", "tendered": "20.00"}')
echo "$PAYMENT"   # 201 {"payment": {"id": ...}, "tendered": "20.00", "change": "3.44", "order": {"status": "completed", ...}}
PAYMENT_ID=$(echo "$PAYMENT" | json payment id)
curl -sS --fail-with-body -X POST "$API/payments/$PAYMENT_ID/refunds/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -d '{"amount": "5.00", "reason": "cold", "restock": true}'
curl -sS --fail-with-body "$API/inventory/items/?low_stock=true" -H "Authorization: Bearer $TOKEN"
ITEM_ID=$(curl -sS --fail-with-body "$API/inventory/items/" -H "Authorization: Bearer $TOKEN" | json 0 id)
curl -sS --fail-with-body -X POST "$API/inventory/items/$ITEM_ID/adjust/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -d '{"quantity": "-2", "movement_type": "waste", "notes": "dropped"}'
DISH=$(mktemp --suffix=.png)   # a 1x1 PNG
python3 -c 'import base64, sys; sys.stdout.buffer.write(base64.b64decode(sys.argv[1]))' \
     iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg== > "$DISH"
IMAGE_URL=$(curl -sS --fail-with-body -X POST "$API/products/$FIRST/image" -H "Authorization: Bearer $TOKEN" \
     -F "file=@$DISH" | json image_url)
case $IMAGE_URL in /*) IMAGE_URL=$SITE$IMAGE_URL ;; esac   # without Spaces, a path on this server
curl -sS --fail-with-body "$IMAGE_URL" | cmp - "$DISH"   # the image, as uploaded

# == restaurants
OWNER=$(login owner@demo.com)   # restaurant settings are the owners'
RESTAURANT_ID=$(curl -sS --fail-with-body "$API/restaurants/" -H "Authorization: Bearer $OWNER" | json 0 id)
curl -sS --fail-with-body -X PATCH "$API/restaurants/$RESTAURANT_ID/" -H "Authorization: Bearer $OWNER" \
     -H 'Content-Type: application/json' \
     -d '{"phone": "+44 20 7946 0000", "settings": {"opening_hours": {"friday": ["12:00-15:00", "18:00-02:00"]}}}'
NINA=nina.$(date +%s)@demo.com   # a new server; a manager may hire cashiers, servers and cooks
EMPLOYEE_ID=$(curl -sS --fail-with-body -X POST "$API/staff/employees/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -d '{"user": {"email": "'"$NINA"'", "password": "a long passphrase",
       "first_name": "Nina", "last_name": "Rossi", "role": "server"}, "hourly_rate": "11.50"}' | json id)
SCHEDULE_ID=$(curl -sS --fail-with-body -X POST "$API/staff/schedules/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' \
     -d '{"name": "This week", "week_start": "'"$(date +%F)"'", "week_end": "'"$(date -d '+6 days' +%F)"'"}' | json id)
curl -sS --fail-with-body -X POST "$API/staff/shifts/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -d '{"schedule_id": '"$SCHEDULE_ID"', "employee_id": '"$EMPLOYEE_ID"',
       "shift_date": "'"$(date +%F)"'", "start_time": "09:00", "end_time": "17:30", "break_duration": 30}'
NINA_TOKEN=$(login "$NINA" 'a long passphrase')
for step in clock-in break-start break-end clock-out; do   # against today's shift
  curl -sS --fail-with-body -X POST "$API/staff/$step/" -H "Authorization: Bearer $NINA_TOKEN"; echo
done
curl -sS --fail-with-body "$API/reports/daily/?date=$(date +%F)" -H "Authorization: Bearer $TOKEN"

# == till
menu_id() {  # menu_id PRODUCT [OPTION]: the id of a product on the menu, or of one of its modifier options
  curl -sS --fail-with-body "$API/products/?available_in_pos=true" -H "Authorization: Bearer $TOKEN" |
    python3 -c 'import json, sys
product = next(p for p in json.load(sys.stdin) if p["name"] == sys.argv[1])
options = {o["name"]: o["id"] for group in product["modifier_groups"] for o in group["options"]}
print(options[sys.argv[2]] if len(sys.argv) > 2 else product["id"])' "$@"
}
BURRITO=$(menu_id "Regular Burrito"); FILLING=$(menu_id "Regular Burrito" "Barbacoa de Res")
GUAC=$(menu_id "Regular Burrito" "Extra guacamole"); FRIES=$(menu_id "Skinny Fries")
WAITER=$(login emma.davis@demo.com)   # a server opens a tab: two burritos, beef filling, double guacamole
TAB=$(curl -sS --fail-with-body -X POST "$API/orders/" -H "Authorization: Bearer $WAITER" \
     -H 'Content-Type: application/json' -d '{"table_number": "4", "items": [{"product_id": '"$BURRITO"',
       "quantity": 2, "modifiers": [{"option_id": '"$FILLING"'}, {"option_id": '"$GUAC"', "quantity": 2}]}]}')
echo "$TAB"
# 201 {"id": ..., "version": 1, "items": [{"product_name": "Regular Burrito", "quantity": 2, "modifiers": [
#        {"group": "Taco filling", "option": "Barbacoa de Res", "price": "0.00", "quantity": 1, "option_id": ...},
#        {"group": "Extras", "option": "Extra guacamole", "price": "1.50", "quantity": 2, "option_id": ...}],
#      "unit_price": "11.00", "total_price": "22.00", ...}], "subtotal": "22.00", "tax_amount": "4.40",
#      "vat_label": "VAT", "service_charge": "2.75", "total_amount": "29.15", ...}
TAB_ID=$(echo "$TAB" | json id)
# the waiter adds fries, sending the version read; the till, still on version 1, is refused
curl -sS --fail-with-body -X PATCH "$API/orders/$TAB_ID/" -H "Authorization: Bearer $WAITER" -H 'If-Match: "1"' \
     -H 'Content-Type: application/json' -d '{"add_items": [{"product_id": '"$FRIES"', "quantity": 1}]}'
curl -sS -X PATCH "$API/orders/$TAB_ID/" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
     -d '{"version": 1, "discount_amount": "2.00"}' | grep '"code":"version_conflict"'
# 409 {"error": {"code": "version_conflict", ...}, "order": {"version": 2, "items": [burritos, fries], ...}}
TOTAL=$(curl -sS --fail-with-body "$API/orders/$TAB_ID/" -H "Authorization: Bearer $TOKEN" | json total_amount)
curl -sS --fail-with-body -X POST "$API/orders/$TAB_ID/payments/" -H "Authorization: Bearer $TOKEN" \
     -H 'Content-Type: application/json' -d '{"payment_method": "card", "amount": "'"$TOTAL"'", "tip_amount": "4.00"}'
# 201 {"payment": {"amount": "33.79", "tip_amount": "4.00", "commission_amount": "2.70", ...}, "order": {"status": "completed", ...}}
# a VAT-inclusive restaurant: the menu's prices hold the VAT
curl -sS --fail-with-body -X PATCH "$API/restaurants/$RESTAURANT_ID/" -H "Authorization: Bearer $OWNER" \
     -H 'Content-Type: application/json' -d '{"settings": {"prices_include_vat": true}}'
curl -sS --fail-with-body -X POST "$API/orders/" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
     -d '{"discount_amount": "0.80", "items": [{"product_id": '"$BURRITO"', "quantity": 1,
       "modifiers": [{"option_id": '"$FILLING"'}]}]}'
# 201 {..., "subtotal": "8.00", "discount_amount": "0.80", "tax_amount": "1.20", "vat_label": "VAT included",
#      "service_charge": "0.75", "total_amount": "7.95", "prices_include_vat": true, ...}
curl -sS --fail-with-body -X PATCH "$API/restaurants/$RESTAURANT_ID/" -H "Authorization: Bearer $OWNER" \
     -H 'Content-Type: application/json' -d '{"settings": {"prices_include_vat": false}}'   # back to VAT added
curl -sS --fail-with-body "$API/reports/daily/" -H "Authorization: Bearer $TOKEN"   # "tax_breakdown", "tips"

# == till_day
TILL1=$(login sarah.johnson@demo.com "$PASSWORD" "Till 1")   # a cashier opens Till 1's drawer with a float
DRAWER_ID=$(curl -sS --fail-with-body -X POST "$API/drawers/" -H "Authorization: Bearer $TILL1" \
     -H 'Content-Type: application/json' -d '{"device_id": "Till 1", "opening_float": "100.00"}' | json id)
SINCE=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)   # the till's last sync
# The Wi-Fi drops: two sales are taken offline, then sent in one batch when it returns.
uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
TAKEAWAY=$(uuid); TABLE=$(uuid); SOLD_AT=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
BATCH='{"orders": [
    {"client_reference": "'"$TAKEAWAY"'", "client_created_at": "'"$SOLD_AT"'", "order_type": "takeaway",
     "items": [{"product_id": '"$FIRST"', "quantity": 2}]},
    {"client_reference": "'"$TABLE"'", "client_created_at": "'"$SOLD_AT"'", "table_number": "4",
     "items": [{"product_id": '"$SECOND"', "quantity": 1}]}],
  "payments": [
    {"order_reference": "'"$TAKEAWAY"'", "client_reference": "'"$(uuid)"'", "client_created_at": "'"$SOLD_AT"'",
     "payment_method": "cash", "amount": "9.28", "tendered": "10.00", "device_id": "Till 1"},
    {"order_reference": "'"$TABLE"'", "client_reference": "'"$(uuid)"'", "client_created_at": "'"$SOLD_AT"'",
     "payment_method": "card", "amount": "5.96", "transaction_id": "SUMUP-8841"}]}'
curl -sS --fail-with-body -X POST "$API/orders/sync/" -H "Authorization: Bearer $TILL1" \
     -H 'Content-Type: application/json' -d "$BATCH"; echo
# 200 {"orders": [{"client_reference": "...", "status": "created", "order": {"order_number": ..., "total_amount": "9.28",
#      "created_at": "<SOLD_AT>", "received_at": "...", ...}}, ...], "payments": [{"status": "created", ...}, ...]}
curl -sS --fail-with-body -X POST "$API/orders/sync/" -H "Authorization: Bearer $TILL1" \
     -H 'Content-Type: application/json' -d "$BATCH" | json orders 0 status   # already_present: applied once
# What changed since the last sync, a page at a time (page_size 1 to show the paging).
PAGE="$API/orders/?updated_since=$SINCE&page_size=1"
while [ "$PAGE" != None ]; do
  BODY=$(curl -sS --fail-with-body "$PAGE" -H "Authorization: Bearer $TILL1")
  echo "$BODY" | json results 0 order_number
  PAGE=$(echo "$BODY" | json next)
done
SINCE=$(echo "$BODY" | json next_since)   # ask with it next time
curl -sS --fail-with-body -X POST "$API/drawers/$DRAWER_ID/entries/" -H "Authorization: Bearer $TILL1" \
     -H 'Content-Type: application/json' -d '{"entry_type": "paid_out", "amount": "4.50", "reason": "window cleaner"}'
curl -sS --fail-with-body -X POST "$API/drawers/$DRAWER_ID/entries/" -H "Authorization: Bearer $TILL1" \
     -H 'Content-Type: application/json' -d '{"entry_type": "no_sale"}'; echo
curl -sS --fail-with-body "$API/reports/x/?drawer=$DRAWER_ID" -H "Authorization: Bearer $TILL1"; echo
# {"device_id": "Till 1", "opening_float": "100.00", "cash_taken": "9.28", "paid_out": "4.50", "no_sales": 1,
#  "expected": "104.78", ...}
curl -sS --fail-with-body -X POST "$API/drawers/$DRAWER_ID/close/" -H "Authorization: Bearer $TILL1" \
     -H 'Content-Type: application/json' -d '{"counted_amount": "104.50"}'; echo
# {"status": "closed", "expected": "104.78", "counted_amount": "104.50", "difference": "-0.28", ...}
curl -sS --fail-with-body -X POST "$API/reports/z/" -H "Authorization: Bearer $TOKEN"; echo   # the manager closes the day
# 201 {"number": 1, "business_date": "...", "figures": {"orders": ..., "payments_by_method": {...}, "vat": ...,
#      "refunds": {...}, "cancelled": {...}, "first_order_number": ..., "drawer_difference": "-0.28"},
#      "drawers": [{"device_id": "Till 1", "difference": "-0.28", ...}], "late_orders": []}
