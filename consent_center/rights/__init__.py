"""Data-subject rights: requests, their deadlines, what they do, the staff desk."""
