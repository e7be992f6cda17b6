-- The legacy Fynlo backend's tables ("fynlo-v1"), as far as they are known.
--
-- Written by hand from the project's notes on the legacy schema (LEGACY_FYNLO_V1.md, drawn from the
-- public repository Lucid-Directions/cashapp-fynlo, backend/app/models/*.py, August 2025). No code of
-- that repository is here. The tests and bench/legacy_import build a synthetic legacy database
-- from it (generate_legacy_export --format fynlo-v1 --database-url) and dump it with pg_dump.
-- Only the tables migrate_legacy maps, and a few it archives, are declared. No foreign keys: the legacy
-- database's are not all there, and the synthetic traps need rows that break them.

CREATE TABLE platforms (
    id uuid PRIMARY KEY,
    name varchar(255) NOT NULL,
    owner_email varchar(255) NOT NULL UNIQUE,
    subscription_tier varchar(50),
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE restaurants (
    id uuid PRIMARY KEY,
    platform_id uuid,
    name varchar(255) NOT NULL,
    address jsonb,
    phone varchar(20),
    email varchar(255),
    timezone varchar(50),
    business_hours jsonb,
    settings jsonb,
    tax_configuration jsonb,
    payment_methods jsonb,
    subscription_plan varchar(50),
    subscription_status varchar(50),
    subscription_started_at timestamptz,
    subscription_expires_at timestamptz,
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE users (
    id uuid PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    username varchar(100),
    password_hash varchar(255),
    supabase_id uuid,
    auth_provider varchar(50),
    first_name varchar(100),
    last_name varchar(100),
    role varchar(50) NOT NULL,
    restaurant_id uuid,
    platform_id uuid,
    permissions jsonb,
    pin_code varchar(6),
    is_active boolean DEFAULT true,
    last_login timestamptz,
    current_restaurant_id uuid,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE user_restaurants (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    restaurant_id uuid NOT NULL,
    role varchar(50),
    is_primary boolean DEFAULT false,
    permissions jsonb,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE customers (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    first_name varchar(100),
    last_name varchar(100),
    email varchar(255),
    phone varchar(20),
    loyalty_points integer DEFAULT 0,
    total_spent numeric(10,2) DEFAULT 0,
    visit_count integer DEFAULT 0,
    preferences jsonb,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE categories (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    name varchar(100) NOT NULL,
    description text,
    color varchar(7),
    icon varchar(50),
    sort_order integer DEFAULT 0,
    is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now()
);

CREATE TABLE products (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    category_id uuid NOT NULL,
    name varchar(255) NOT NULL,
    description text,
    price numeric(10,2) NOT NULL,
    cost numeric(10,2) DEFAULT 0,
    image_url varchar(500),
    barcode varchar(100),
    sku varchar(100),
    prep_time integer DEFAULT 0,
    dietary_info jsonb DEFAULT '[]',
    modifiers jsonb DEFAULT '[]',
    is_active boolean DEFAULT true,
    stock_tracking boolean DEFAULT false,
    stock_quantity integer DEFAULT 0,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE orders (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    customer_id uuid,
    order_number varchar(50) NOT NULL UNIQUE,
    table_number varchar(20),
    table_id uuid,
    order_type varchar(20) DEFAULT 'dine_in',
    status varchar(20) DEFAULT 'pending',
    items jsonb NOT NULL DEFAULT '[]',
    subtotal numeric(10,2) NOT NULL,
    tax_amount numeric(10,2) DEFAULT 0,
    service_charge numeric(10,2) DEFAULT 0,
    discount_amount numeric(10,2) DEFAULT 0,
    total_amount numeric(10,2) NOT NULL,
    payment_status varchar(20) DEFAULT 'pending',
    special_instructions text,
    created_by uuid NOT NULL,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE payments (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    payment_method varchar(50) NOT NULL,
    amount numeric(10,2) NOT NULL,
    fee_amount numeric(10,2) DEFAULT 0,
    net_amount numeric(10,2),
    status varchar(20) DEFAULT 'pending',
    external_id varchar(255),
    payment_metadata jsonb,
    created_at timestamptz DEFAULT now()
);

CREATE TABLE refunds (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    amount numeric(10,2) NOT NULL,
    reason text,
    state varchar(20) DEFAULT 'pending',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE qr_payments (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    qr_code_data text NOT NULL,
    amount numeric(10,2) NOT NULL,
    fee numeric(10,2) DEFAULT 0,
    net numeric(10,2),
    status varchar(20) DEFAULT 'pending',
    expires_at timestamptz,
    created_at timestamptz DEFAULT now()
);

-- Stock: suppliers, inventory (ingredients, keyed by sku), its ledger, stock movements, purchase orders.

CREATE TABLE suppliers (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    name varchar(255) NOT NULL,
    code varchar(50) UNIQUE,
    contact_name varchar(100),
    email varchar(255),
    phone varchar(20),
    website varchar(255),
    address jsonb DEFAULT '{}',
    tax_number varchar(50),
    payment_terms varchar(50) DEFAULT 'net30',
    minimum_order numeric(10,2) DEFAULT 0,
    delivery_days jsonb DEFAULT '[]',
    lead_time_days integer DEFAULT 1,
    categories jsonb DEFAULT '[]',
    on_time_delivery_rate numeric(5,2) DEFAULT 100,
    quality_rating numeric(3,2) DEFAULT 5,
    total_purchases numeric(12,2) DEFAULT 0,
    is_active boolean DEFAULT true,
    is_preferred boolean DEFAULT false,
    notes jsonb DEFAULT '[]',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

-- restaurant_id came later, by a migration, nullable; the table has no created_at.
CREATE TABLE inventory (
    sku varchar(100) PRIMARY KEY,
    restaurant_id uuid,
    name varchar(255) NOT NULL,
    description text,
    qty_g integer NOT NULL DEFAULT 0,
    par_level_g integer DEFAULT 0,
    unit varchar(50) DEFAULT 'grams',
    cost_per_unit numeric(10,2),
    supplier varchar(255),
    last_updated timestamptz DEFAULT now()
);

CREATE TABLE inventory_ledger (
    id serial PRIMARY KEY,
    sku varchar(100) NOT NULL,
    restaurant_id uuid,
    delta_g integer NOT NULL,
    source varchar(50) NOT NULL,
    source_id varchar(255),
    ts timestamptz NOT NULL DEFAULT now()
);

-- movement_type: SQLAlchemy writes the enum member's NAME (PURCHASE); declared as text here, as a
-- table the application created without its enum type holds it (and so the trap can be stored).
CREATE TABLE stock_movements (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    inventory_sku varchar(100) NOT NULL,
    movement_type varchar(20) NOT NULL,
    quantity numeric(10,2) NOT NULL,
    unit varchar(20) NOT NULL,
    stock_before numeric(10,2) NOT NULL,
    stock_after numeric(10,2) NOT NULL,
    unit_cost numeric(10,2) DEFAULT 0,
    total_cost numeric(10,2) DEFAULT 0,
    reference_type varchar(50),
    reference_id varchar(255),
    supplier_id uuid,
    order_id uuid,
    reason varchar(255),
    notes varchar(500),
    performed_by uuid NOT NULL,
    approved_by uuid,
    movement_date timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz DEFAULT now()
);

CREATE TABLE purchase_orders (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    supplier_id uuid NOT NULL,
    order_number varchar(50) NOT NULL UNIQUE,
    order_date date NOT NULL,
    expected_delivery date NOT NULL,
    actual_delivery date,
    subtotal numeric(12,2) DEFAULT 0,
    tax_amount numeric(10,2) DEFAULT 0,
    delivery_fee numeric(10,2) DEFAULT 0,
    total_amount numeric(12,2) DEFAULT 0,
    status varchar(20) DEFAULT 'draft',
    payment_status varchar(20) DEFAULT 'pending',
    delivery_notes varchar(500),
    invoice_number varchar(50),
    created_by uuid NOT NULL,
    approved_by uuid,
    received_by uuid,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE purchase_order_items (
    id uuid PRIMARY KEY,
    purchase_order_id uuid NOT NULL,
    inventory_sku varchar(100) NOT NULL,
    quantity_ordered numeric(10,2) NOT NULL,
    unit varchar(20) NOT NULL,
    unit_price numeric(10,2) NOT NULL,
    total_price numeric(10,2) NOT NULL,
    quantity_received numeric(10,2) DEFAULT 0,
    quantity_rejected numeric(10,2) DEFAULT 0,
    rejection_reason varchar(255),
    created_at timestamptz DEFAULT now()
);

-- Staff and billing (backend/app/models/employee.py, reports.py, subscription.py).

CREATE TABLE employee_profiles (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL UNIQUE,
    restaurant_id uuid NOT NULL,
    -- UNIQUE in the models (across restaurants); not declared here, so that a generated trap can carry the
    -- same employee_id in two restaurants (ours is unique per restaurant: that only loosens)
    employee_id varchar(50),
    hire_date date NOT NULL,
    employment_type varchar(50) DEFAULT 'full_time',
    hourly_rate numeric(10,2) NOT NULL,
    phone varchar(20) NOT NULL,
    emergency_contact jsonb DEFAULT '{}',
    max_hours_per_week integer DEFAULT 40,
    min_hours_per_week integer DEFAULT 0,
    availability jsonb DEFAULT '{}',
    performance_rating numeric(3,2) DEFAULT 0,
    total_sales numeric(12,2) DEFAULT 0,
    orders_served integer DEFAULT 0,
    average_order_time integer DEFAULT 0,
    is_active boolean DEFAULT true,
    termination_date date,
    notes jsonb DEFAULT '[]',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE schedules (
    id uuid PRIMARY KEY,
    employee_id uuid NOT NULL,
    restaurant_id uuid NOT NULL,
    date date NOT NULL,
    start_time time NOT NULL,
    end_time time NOT NULL,
    break_minutes integer DEFAULT 0,
    role varchar(50) NOT NULL,
    section_id uuid,
    status varchar(20) DEFAULT 'scheduled',
    is_published boolean DEFAULT false,
    swap_requested boolean DEFAULT false,
    swap_with_employee_id uuid,
    notes varchar(500),
    created_by uuid NOT NULL,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz,
    UNIQUE (employee_id, date, start_time)
);

CREATE TABLE shifts (
    id uuid PRIMARY KEY,
    employee_id uuid NOT NULL,
    restaurant_id uuid NOT NULL,
    schedule_id uuid,
    clock_in timestamptz NOT NULL,
    clock_out timestamptz,
    break_start timestamptz,
    break_end timestamptz,
    total_break_minutes integer DEFAULT 0,
    role varchar(50) NOT NULL,
    hourly_rate numeric(10,2) NOT NULL,
    total_hours numeric(5,2) DEFAULT 0,
    regular_hours numeric(5,2) DEFAULT 0,
    overtime_hours numeric(5,2) DEFAULT 0,
    tips_cash numeric(10,2) DEFAULT 0,
    tips_card numeric(10,2) DEFAULT 0,
    total_sales numeric(12,2) DEFAULT 0,
    total_earnings numeric(10,2) DEFAULT 0,
    status varchar(20) DEFAULT 'active',
    approval_status varchar(20) DEFAULT 'pending',
    approved_by uuid,
    approved_at timestamptz,
    notes varchar(500),
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz
);

CREATE TABLE performance_metrics (
    id uuid PRIMARY KEY,
    employee_id uuid NOT NULL,
    restaurant_id uuid NOT NULL,
    metric_date date NOT NULL,
    metric_type varchar(50) NOT NULL,
    total_sales numeric(12,2) DEFAULT 0,
    transaction_count integer DEFAULT 0,
    average_transaction numeric(10,2) DEFAULT 0,
    tables_served integer DEFAULT 0,
    average_table_time integer DEFAULT 0,
    customer_rating numeric(3,2) DEFAULT 0,
    compliments integer DEFAULT 0,
    complaints integer DEFAULT 0,
    items_per_hour numeric(10,2) DEFAULT 0,
    waste_percentage numeric(5,2) DEFAULT 0,
    scheduled_hours numeric(5,2) DEFAULT 0,
    worked_hours numeric(5,2) DEFAULT 0,
    late_arrivals integer DEFAULT 0,
    no_shows integer DEFAULT 0,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz,
    UNIQUE (employee_id, metric_date, metric_type)
);

-- serial keys and naive timestamps (datetime.utcnow()); transaction_fee_percentage a whole-number percentage
CREATE TABLE subscription_plans (
    id serial PRIMARY KEY,
    name varchar(50) NOT NULL UNIQUE,
    display_name varchar(100) NOT NULL,
    price_monthly numeric(10,2) NOT NULL,
    price_yearly numeric(10,2) NOT NULL,
    max_orders_per_month integer,
    max_staff_accounts integer,
    max_menu_items integer,
    transaction_fee_percentage numeric(5,2),
    features jsonb NOT NULL,
    is_active boolean DEFAULT true,
    created_at timestamp DEFAULT now(),
    updated_at timestamp DEFAULT now()
);

-- restaurant_id integer: matches none of the UUID restaurants
CREATE TABLE restaurant_subscriptions (
    id serial PRIMARY KEY,
    restaurant_id integer NOT NULL,
    plan_id integer NOT NULL,
    status varchar(20) NOT NULL,
    trial_end_date timestamp,
    current_period_start timestamp NOT NULL,
    current_period_end timestamp NOT NULL,
    stripe_subscription_id varchar(255) UNIQUE,
    stripe_customer_id varchar(255),
    created_at timestamp DEFAULT now(),
    updated_at timestamp DEFAULT now()
);

CREATE TABLE daily_reports (
    id uuid PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    report_date date NOT NULL,
    total_revenue numeric(12,2) DEFAULT 0,
    total_orders integer DEFAULT 0,
    average_order_value numeric(10,2) DEFAULT 0,
    cash_sales numeric(12,2) DEFAULT 0,
    card_sales numeric(12,2) DEFAULT 0,
    qr_sales numeric(12,2) DEFAULT 0,
    other_sales numeric(12,2) DEFAULT 0,
    dine_in_orders integer DEFAULT 0,
    takeaway_orders integer DEFAULT 0,
    delivery_orders integer DEFAULT 0,
    total_tax numeric(10,2) DEFAULT 0,
    total_service_charge numeric(10,2) DEFAULT 0,
    total_discounts numeric(10,2) DEFAULT 0,
    payment_processing_fees numeric(10,2) DEFAULT 0,
    total_labor_hours numeric(10,2) DEFAULT 0,
    total_labor_cost numeric(12,2) DEFAULT 0,
    employees_worked integer DEFAULT 0,
    cogs numeric(12,2) DEFAULT 0,
    waste_cost numeric(10,2) DEFAULT 0,
    unique_customers integer DEFAULT 0,
    new_customers integer DEFAULT 0,
    returning_customers integer DEFAULT 0,
    hourly_sales jsonb DEFAULT '{}',
    hourly_orders jsonb DEFAULT '{}',
    top_items jsonb DEFAULT '[]',
    top_categories jsonb DEFAULT '[]',
    is_complete boolean DEFAULT false,
    generated_at timestamptz DEFAULT now(),
    updated_at timestamptz,
    UNIQUE (restaurant_id, report_date)
);
