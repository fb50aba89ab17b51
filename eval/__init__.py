"""Evaluation: French-aware ROUGE, translation metrics, faithfulness, reports (to come)."""
