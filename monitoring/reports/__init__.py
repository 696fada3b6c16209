"""Clinical summaries computed from stored readings: glucose (AGP, time in ranges), BP, adherence."""
