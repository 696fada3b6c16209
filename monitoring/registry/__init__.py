"""Registry: sites, patients with their care plans, and the devices assigned to them."""
