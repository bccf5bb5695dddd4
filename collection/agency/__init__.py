"""Agency work: hand-over of accounts to agencies, what an agency may see, its work queue and
case work.
"""
