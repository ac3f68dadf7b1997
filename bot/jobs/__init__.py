"""The road of a job, one module per stop: flags → intake → queue, leases → runner → results."""
