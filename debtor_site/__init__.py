"""The public site where consumers find and settle their debts."""
