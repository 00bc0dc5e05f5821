"""Insights: every customer scored, segmented and tracked, from one refresh (issue 5).

The only app that calls the pure analytics core (:mod:`guanxi.analytics`): it summarizes
the orders in the database, fits the models, scores every customer and stores the results
per customer (:class:`~guanxi.insights.models.CustomerInsight`) for each refresh
(:class:`~guanxi.insights.models.RefreshRun`).
"""
