"""May we contact them? The one consent answer, and the single and bulk checks."""
