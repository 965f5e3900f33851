"""`eventinfra check`: plan a Pulumi program offline and run the policy pack over the plan."""
