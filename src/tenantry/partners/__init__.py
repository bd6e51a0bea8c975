"""The partner programme: enrolment and agent levels, offers, relationships and their
access assignments, just-in-time activations, blocks, the partner's views of its customers,
and what customers and partners are told by e-mail."""
