"""Per-patient models: each patient's usual values by time of day (river), and what departs from them."""
