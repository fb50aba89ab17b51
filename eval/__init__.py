"""Evaluation: French-aware ROUGE, translation metrics, faithfulness, bootstrap CIs,
reports."""
